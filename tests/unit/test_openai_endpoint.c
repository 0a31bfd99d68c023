/* test_openai_endpoint.c - which endpoints name this machine: a run against any
 * other host measures the client, not the server, and says so. Nothing is
 * looked up or contacted here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aieb/openai.h"

static void local_hosts(void **state)
{
    (void)state;
    const char *local[] = {
        "http://localhost:8000/v1", "http://LOCALHOST/v1",
        "http://127.0.0.1:8000/v1", "https://127.0.0.1/v1",
        "http://127.1.2.3:9/v1",    "http://[::1]:8000/v1",
        "http://0.0.0.0:8000/v1",   "http://user:secret@localhost:8000/v1",
        "http://127.0.0.1",         "http://localhost?x=1",
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (aieb_openai_endpoint_is_local(local[i]) != 1)
            fail_msg("%s should be this machine", local[i]);
}

static void other_hosts(void **state)
{
    (void)state;
    const char *other[] = {
        "http://gpu-box:8000/v1",          "https://api.example.com/v1",
        "http://10.0.0.5:8000/v1",         "http://192.168.1.20/v1",
        "http://[2001:db8::1]:8000/v1",    "http://128.0.0.1/v1",
        "http://127.0.0.1.example.com/v1", "http://localhost.example.com:8000/v1",
        "http://user@gpu-box/v1",          "http://1270.0.0.1/v1",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (aieb_openai_endpoint_is_local(other[i]) != 0)
            fail_msg("%s should be another machine", other[i]);
}

static void unreadable(void **state)
{
    (void)state;
    assert_int_equal(aieb_openai_endpoint_is_local(NULL), -1);
    assert_int_equal(aieb_openai_endpoint_is_local("localhost:8000"), -1); /* no scheme */
    assert_int_equal(aieb_openai_endpoint_is_local("http:///v1"), -1);
    assert_int_equal(aieb_openai_endpoint_is_local("http://[::1/v1"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_hosts),
        cmocka_unit_test(other_hosts),
        cmocka_unit_test(unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
