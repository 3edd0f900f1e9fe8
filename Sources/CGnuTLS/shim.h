#ifndef CGNUTLS_SHIM_H
#define CGNUTLS_SHIM_H
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/// GnuTLS error codes are negative `int`s; `GNUTLS_E_SUCCESS` is 0.
static inline int CGnuTLS_success(void) { return GNUTLS_E_SUCCESS; }

/// `gnutls_free` is a function pointer variable: freed through here, it is called like a function.
static inline void CGnuTLS_free(void *pointer) { gnutls_free(pointer); }
#endif
