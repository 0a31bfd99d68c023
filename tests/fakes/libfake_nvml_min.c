/* libfake_nvml_min.c - the fake NVML with only the required symbols (an old
 * driver, or a board whose library lacks the energy counter and power fields). */
#define FAKE_NVML_MINIMAL 1
#include "libfake_nvml.c"
