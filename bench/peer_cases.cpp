// The cases of a peer (or the plain loop): the call prepared once per case, outside the timing,
// and timed as it is.
#include "bench_common.hpp"
#include "implementations.hpp"

#include <exception>

namespace actforge::bench {
namespace {

void run(const Peer &peer, benchmark::State &state, const Case &c) {
  try {
    const Arrays &a = arrays(c.n);
    const Prepared p = peer.prepare(c.activation, c.direction, {a.x, a.dy, a.out, c.n}, c.threads);
    state.SetLabel(p.label);
    for (auto _ : state) {
      p.call();
      benchmark::ClobberMemory();
    }
  } catch (const std::exception &e) { // actforge::Error, or a library's own (c10::Error)
    state.SkipWithError(e.what());
  }
}

} // namespace

Implementation peer_implementation(const Peer &peer) {
  return {peer.name, peer.describe, [peer](std::int64_t n, int threads) {
            for (const std::string_view act : kActivations)
              for (const Direction d : kDirections)
                if (peer.has(act, d))
                  register_case(peer.name, {act, d, n, threads},
                                [peer](benchmark::State &s, const Case &c) { run(peer, s, c); });
          }};
}

} // namespace actforge::bench
