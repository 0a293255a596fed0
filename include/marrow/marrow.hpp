// The umbrella header: everything an embedder needs. `#include <marrow/marrow.hpp>`.
#pragma once

#include "marrow/config.hpp"
#include "marrow/errors.hpp"
#include "marrow/handles.hpp"
#include "marrow/member.hpp"
#include "marrow/object.hpp"
#include "marrow/runtime.hpp"
#include "marrow/stats.hpp"
#include "marrow/tracer.hpp"
#include "marrow/value.hpp"
