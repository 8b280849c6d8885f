/*
 * netsnmp_random_posix.c - Net-SNMP's random numbers from the kernel.
 *
 * Built only with the static Net-SNMP of MDM_NETSNMP_PREFIX (CMakeLists.txt):
 * the linker sends every call of OpenSSL's RAND_bytes() made by an object
 * linked into the program - Net-SNMP's sc_random() among them - here
 * (-Wl,--wrap=RAND_bytes; the __wrap_ / __real_ names are that option's
 * convention). OpenSSL's own calls inside libcrypto are not affected.
 *
 * Why: Net-SNMP's start (init_usm_post_config) draws the initial USM privacy
 * salts with RAND_bytes(). OpenSSL 3 sets up its random generator on the
 * first call: it loads the default provider and builds the DRBG chain, which
 * maps 1.5 MiB of libcrypto into an agent that may never encrypt anything
 * (bench/results.md, issue 15). The kernel's generator, getrandom(2), is the
 * source that DRBG seeds itself from: the salts are as unpredictable, and
 * OpenSSL sets its generator up only when something needs it (a TLS
 * handshake of the diagnoser, for instance).
 *
 * If getrandom() fails for a reason other than an interruption (ENOSYS on a
 * kernel older than 3.17), OpenSSL's RAND_bytes() does the work as before.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stddef.h>
#include <sys/random.h>
#include <sys/types.h>

int __wrap_RAND_bytes(unsigned char *buf, int num);
int __real_RAND_bytes(unsigned char *buf, int num);

int __wrap_RAND_bytes(unsigned char *buf, int num)
{
    size_t want, done = 0;

    if (num <= 0 || buf == NULL)
        return __real_RAND_bytes(buf, num);
    want = (size_t)num;
    while (done < want) {
        /* Blocks only until the kernel's pool is first initialised at boot,
         * as OpenSSL's own seeding does. */
        ssize_t n = getrandom(buf + done, want - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return __real_RAND_bytes(buf, num);
        }
        done += (size_t)n;
    }
    return 1;
}
