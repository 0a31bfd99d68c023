/* test_pytorch_proc.c - the worker process plumbing (backend/pytorch_proc.h)
 * against real child processes run by /bin/sh. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aieb/clock.h"
#include "backend/pytorch_proc.h"

static int64_t in_ms(int ms)
{
    return aieb_now_ns() + (int64_t)ms * AIEB_NS_PER_MS;
}

/* The deadline for something that happens at once (a line echoed, a child
 * exiting): reached only on a hang, never by a busy machine being slow. */
#define EVENT_MS 60000

static void spawn_sh(wproc *p, const char *script, size_t max_line)
{
    wproc_init(p, max_line);
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    const char *env[] = {"AIEB_PROC_TEST=42"};
    aieb_err err = {0};
    int rc = wproc_spawn(p, argv, env, 1, &err);
    if (rc)
        fail_msg("spawn: %s", err.msg);
}

/* Lines in, lines out; the environment entry reaches the child. */
static void test_echo_lines(void **state)
{
    (void)state;
    wproc p;
    spawn_sh(&p, "while read -r l; do echo \"got:$l:$AIEB_PROC_TEST\"; done", 1024);
    aieb_err err = {0};
    assert_int_equal(wproc_write(&p, "one\ntwo\n", 8, in_ms(EVENT_MS), NULL, &err), 0);
    char *line;
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), 0);
    assert_string_equal(line, "got:one:42");
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), 0);
    assert_string_equal(line, "got:two:42");
    assert_true(wproc_alive(&p));
    /* End of input ends the loop: the child exits by itself. */
    assert_int_equal(wproc_finish(&p, in_ms(EVENT_MS)), 0);
    char how[96];
    wproc_describe_exit(&p, how, sizeof how);
    assert_string_equal(how, "exited with status 0");
    wproc_free(&p);
}

/* stderr: the last WPROC_STDERR_LINES lines are kept, long ones cut; an
 * unterminated last stdout line is not a line; the exit status is reported. */
static void test_stderr_ring_and_exit(void **state)
{
    (void)state;
    wproc p;
    spawn_sh(&p,
             "i=1; while [ $i -le 40 ]; do echo \"err$i\" >&2; i=$((i+1)); done; "
             "head -c 1000 /dev/zero | tr '\\0' 'x' >&2; echo >&2; "
             "echo first; printf unterminated; exit 3",
             1024);
    aieb_err err = {0};
    char *line;
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), 0);
    assert_string_equal(line, "first");
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "exited with status 3"));
    aieb_buf tail;
    aieb_buf_init(&tail, 0);
    assert_int_equal(wproc_stderr_tail(&p, 3, 50, &tail), 0);
    /* err39 | err40 | xxxx... cut to 50 characters */
    assert_non_null(strstr(tail.data, "err39 | err40 | xxxxxxxxxx"));
    assert_non_null(strstr(tail.data, "..."));
    assert_true(strlen(tail.data) < 100);
    aieb_buf_reset(&tail);
    wproc_stderr_tail(&p, 100, 1000, &tail);
    assert_null(strstr(tail.data, "err25 |")); /* only the last 16 lines stay */
    assert_non_null(strstr(tail.data, "err26 |"));
    /* the 1000-character line was kept up to WPROC_STDERR_LINE_MAX - 1 */
    assert_true(strlen(tail.data) < 16 * WPROC_STDERR_LINE_MAX);
    aieb_buf_free(&tail);
    wproc_free(&p);
}

/* A silent child: the deadline passes; a stop flag ends the wait early. */
static void test_timeout_and_stop(void **state)
{
    (void)state;
    wproc p;
    spawn_sh(&p, "exec sleep 30", 1024);
    aieb_err err = {0};
    char *line;
    /* The deadline is waited for (an exact lower bound); the upper bounds tell
     * it from the child's 30 s with room for a machine 20x slower. */
    int64_t t0 = aieb_now_ns();
    assert_int_equal(wproc_read_line(&p, in_ms(200), NULL, &line, &err), AIEB_ETIMEOUT);
    int64_t dt = aieb_now_ns() - t0;
    assert_true(dt >= 190 * AIEB_NS_PER_MS && dt < 10 * AIEB_NS_PER_S);
    volatile int stop = 1;
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), &stop, &line, &err), AIEB_EINTR);
    /* It does not exit at end of input: finish() signals it. */
    t0 = aieb_now_ns();
    assert_int_equal(wproc_finish(&p, in_ms(200)), 1);
    assert_true(aieb_now_ns() - t0 < 10 * AIEB_NS_PER_S);
    char how[96];
    wproc_describe_exit(&p, how, sizeof how);
    assert_non_null(strstr(how, "signal 15"));
    wproc_free(&p);
}

/* A line past the cap is an error, not a memory sink. */
static void test_line_cap(void **state)
{
    (void)state;
    wproc p;
    spawn_sh(&p, "head -c 200000 /dev/zero | tr '\\0' 'y'; echo", 1000);
    aieb_err err = {0};
    char *line;
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "longer than 1000 bytes"));
    wproc_free(&p);
}

/* Writing to a child that is gone fails with EIO; no SIGPIPE kills us. */
static void test_write_to_dead_child(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL);
    wproc p;
    spawn_sh(&p, "exit 5", 1024);
    aieb_err err = {0};
    char buf[65536];
    memset(buf, 'z', sizeof buf);
    int rc = 0;
    for (int i = 0; i < 50 && !rc; i++) /* the first writes may land before it exits */
        rc = wproc_write(&p, buf, sizeof buf, in_ms(EVENT_MS), NULL, &err);
    assert_int_equal(rc, AIEB_EIO);
    assert_non_null(strstr(err.msg, "exited with status 5"));
    wproc_free(&p);
}

/* A missing program is AIEB_EENV naming it. */
static void test_missing_program(void **state)
{
    (void)state;
    wproc p;
    wproc_init(&p, 1024);
    aieb_err err = {0};
    char *argv1[] = {"aieb-no-such-program-xyz", NULL};
    assert_int_equal(wproc_spawn(&p, argv1, NULL, 0, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "'aieb-no-such-program-xyz' was not found on PATH"));
    char *argv2[] = {"/nonexistent/bin/python3", NULL};
    assert_int_equal(wproc_spawn(&p, argv2, NULL, 0, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "'/nonexistent/bin/python3' was not found"));
    char *argv3[] = {"/etc/hostname", NULL};
    assert_int_equal(wproc_spawn(&p, argv3, NULL, 0, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "cannot be executed"));
    assert_false(wproc_alive(&p));
    wproc_free(&p);
}

/* The child runs in its own process group, with SIGINT at its default. */
static void test_process_group(void **state)
{
    (void)state;
    signal(SIGINT, SIG_IGN); /* ignored here; the child must get the default */
    wproc p;
    spawn_sh(&p, "echo $$; trap - INT; exec sleep 30", 1024);
    aieb_err err = {0};
    char *line;
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), 0);
    pid_t child = (pid_t)atoi(line);
    assert_int_equal(child, p.pid);
    assert_int_equal(getpgid(child), child);
    assert_int_not_equal(getpgid(child), getpgid(0));
    kill(child, SIGINT);
    assert_int_equal(wproc_read_line(&p, in_ms(EVENT_MS), NULL, &line, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "signal 2"));
    signal(SIGINT, SIG_DFL);
    wproc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_lines),          cmocka_unit_test(test_stderr_ring_and_exit),
        cmocka_unit_test(test_timeout_and_stop),    cmocka_unit_test(test_line_cap),
        cmocka_unit_test(test_write_to_dead_child), cmocka_unit_test(test_missing_program),
        cmocka_unit_test(test_process_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
