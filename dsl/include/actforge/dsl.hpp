// The Actforge language in one include: expressions, d(), eval(), simplify(), reflect(), library.
#pragma once

#include "actforge/dsl/derivative.hpp"
#include "actforge/dsl/dual.hpp"
#include "actforge/dsl/eval.hpp"
#include "actforge/dsl/library.hpp"
#include "actforge/dsl/ops.hpp"
#include "actforge/dsl/params.hpp"
#include "actforge/dsl/reflect.hpp"
#include "actforge/dsl/simplify.hpp"
