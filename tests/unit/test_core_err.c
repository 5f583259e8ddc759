/* core/err.h: the SPEC §6 codes stay exact, and misuse of our own API is told
 * apart from bad outside input while still reaching a tx result only as an
 * internal failure. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/err.h"

Test(core_err, spec_codes_map_to_themselves) {
    for (int code = 1; code <= 12; code++) cr_assert_eq(gz_err_code(-code), code, "code %d", code);
    cr_assert_eq(gz_err_code(GZ_OK), 0);
    cr_assert_eq(gz_err_code(GZ_EARG), 12);
    cr_assert_eq(gz_err_code(GZ_ECORRUPT), 1);
    cr_assert_eq(gz_err_code(GZ_EPROTO), 1);
}

Test(core_err, misuse_is_internal_and_named_apart_from_invalid_argument) {
    cr_assert_lt(GZ_EMISUSE, -99, "an internal code, below every SPEC result");
    cr_assert_eq(gz_err_code(GZ_EMISUSE), 12, "reaches a result only as an internal failure");
    cr_assert_str_neq(gz_strerror(GZ_EMISUSE), gz_strerror(GZ_EARG));
    cr_assert_str_neq(gz_strerror(GZ_EMISUSE), gz_strerror(-12345));
    cr_assert(strstr(gz_strerror(GZ_EMISUSE), "misuse") != NULL, "%s", gz_strerror(GZ_EMISUSE));
}
