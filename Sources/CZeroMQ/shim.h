#ifndef ZKTHREADS_CZEROMQ_SHIM_H
#define ZKTHREADS_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
