// Empty: SwiftPM needs one source file in a C target; everything lives in the header.
#include "CIntakeLinux.h"
