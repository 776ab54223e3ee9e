// glibc's <malloc.h> (mallopt, M_TRIM_THRESHOLD), which the Glibc module does not bring in.
#if defined(__linux__) && __has_include(<malloc.h>)
#include <malloc.h>
#endif
