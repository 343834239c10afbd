/* The sandbox API the monitor spawns the device model with. */
#ifndef STUBVISOR_VMM_SANDBOX_API_H
#define STUBVISOR_VMM_SANDBOX_API_H

#include "sandbox/sandbox.h"

#endif
