/* The SDK's version string. */
#include "warm/warm.h"

const char *warm_sdk_version(void) { return "0.1.0"; }
