// The umbrella header: everything an embedder needs. `#include <marrow/marrow.hpp>`.
#pragma once

#include "marrow/gc/config.hpp"
#include "marrow/gc/errors.hpp"
#include "marrow/gc/object.hpp"
#include "marrow/gc/stats.hpp"
#include "marrow/gc/tracer.hpp"
#include "marrow/handles.hpp"
#include "marrow/member.hpp"
#include "marrow/runtime.hpp"
#include "marrow/value.hpp"
