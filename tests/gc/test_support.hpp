// The shared helpers live in tests/runtime/test_support.hpp.
#pragma once
#include "../runtime/test_support.hpp"
