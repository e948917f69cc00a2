/* The SDK's version string, from the generated warm/version.h (the project
 * version in the top-level CMakeLists.txt). */
#include "warm/warm.h"

const char *warm_sdk_version(void) {
  return WARM_SDK_VERSION;
}
