/* lib/mac: the one MAC address spelling, both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "lib/mac.h"

static void test_roundtrip(void **state)
{
    uint8_t mac[6];
    char text[MAC_STRLEN];

    (void)state;
    assert_int_equal(mac_parse("00:16:3E:0a:fF:7c", mac), 0);
    assert_memory_equal(mac, ((uint8_t[]){0x00, 0x16, 0x3e, 0x0a, 0xff, 0x7c}), 6);
    mac_format(mac, text);
    assert_string_equal(text, "00:16:3e:0a:ff:7c");
}

/* Anything but exactly six colon-separated two-digit bytes is refused and
 * leaves the output alone. */
static void test_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "00:16:3e:0a:ff",
        "00:16:3e:0a:ff:7c:",
        "00:16:3e:0a:ff:7c0",
        "0:16:3e:0a:ff:7c",
        "00-16-3e-0a-ff-7c",
        "00:16:3e:0a:ff:7g",
        " 00:16:3e:0a:ff:7c",
        "00:16:3e:0a:ff:7",
        "00:16:3e:0a:f:7c",
    };
    uint8_t mac[6] = {1, 2, 3, 4, 5, 6};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mac_parse(bad[i], mac), -EINVAL);
        assert_memory_equal(mac, ((uint8_t[]){1, 2, 3, 4, 5, 6}), 6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
