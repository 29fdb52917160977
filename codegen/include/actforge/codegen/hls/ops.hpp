// OpCount: the per-element operation count of an HLS kernel, its resource estimate.
#pragma once

namespace actforge::codegen::hls {

/// Operations one element of a kernel performs, counted on the emitted C (helper functions
/// counted once per call). In float mode they are f32 operators; in fixed point, integer ones
/// (a shift or a mask costs no logic worth counting and is left out).
struct OpCount {
  int multipliers = 0; // * (a DSP block each, or a constant-coefficient shift-add network)
  int adders = 0;      // + and - (negation included)
  int dividers = 0;    // / (float division, or an integer one)
  int comparators = 0; // <, <=, >, >=, ==, != (NaN tests included)
  int selects = 0;     // ?: multiplexers
  int table_reads = 0; // reads of a static const table (a BRAM/LUTRAM port)

  OpCount &operator+=(const OpCount &o) {
    multipliers += o.multipliers;
    adders += o.adders;
    dividers += o.dividers;
    comparators += o.comparators;
    selects += o.selects;
    table_reads += o.table_reads;
    return *this;
  }
  friend OpCount operator*(OpCount c, int times) {
    c.multipliers *= times;
    c.adders *= times;
    c.dividers *= times;
    c.comparators *= times;
    c.selects *= times;
    c.table_reads *= times;
    return c;
  }
};

} // namespace actforge::codegen::hls
