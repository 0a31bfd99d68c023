/* test_plot.c - power.png and power.svg: produced, the right size, not blank,
 * the channels' colours present; thinning of long timelines; write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>

#include "aieb/fileio.h"
#include "aieb/report.h"

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    aieb_err err = {0};
    if (aieb_read_file(path, 256u << 20, &data, len, &err) != 0)
        return NULL;
    return data;
}

static void load_fixture(const char *fx, aieb_run_files *f)
{
    const char *src = getenv("AIEB_SOURCE_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/golden/report/%s", src ? src : ".", fx);
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load(dir, f, &err), 0);
}

typedef struct pixels {
    int width, height;
    size_t distinct, non_white;
    int has_rgb[3]; /* the first three palette colours seen as exact pixels */
} pixels;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Reads a PNG back with cairo and counts what it holds. */
static void inspect_png(const char *path, pixels *px)
{
    memset(px, 0, sizeof *px);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    px->width = cairo_image_surface_get_width(s);
    px->height = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    size_t n = (size_t)px->width * (size_t)px->height;
    uint32_t *all = malloc(n * sizeof *all);
    assert_non_null(all);
    /* The first palette colours (the plot's "tab10" hues), as 0xRRGGBB. */
    static const uint32_t want[3] = {0x1f77b4, 0xff7f0e, 0x2ca02c};
    size_t k = 0;
    for (int y = 0; y < px->height; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < px->width; x++) {
            uint32_t v = row[x] & 0xffffff;
            all[k++] = v;
            px->non_white += v != 0xffffff;
            for (int c = 0; c < 3; c++)
                px->has_rgb[c] |= v == want[c];
        }
    }
    qsort(all, n, sizeof *all, cmp_u32);
    for (size_t i = 0; i < n; i++)
        px->distinct += i == 0 || all[i] != all[i - 1];
    free(all);
    cairo_surface_destroy(s);
}

static void png_and_svg_from_a_run(void **state)
{
    (void)state;
    aieb_run_files f;
    load_fixture("gpu", &f);
    char dir[] = "/tmp/aieb-plot-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char png[128], svg[128];
    snprintf(png, sizeof png, "%s/power.png", dir);
    snprintf(svg, sizeof svg, "%s/power.svg", dir);
    aieb_err err = {0};
    assert_int_equal(aieb_plot_power(&f, png, svg, &err), 0);

    pixels px;
    inspect_png(png, &px);
    assert_int_equal(px.width, 1200);
    assert_int_equal(px.height, 600);
    /* Not blank: text, axes, shading and lines give many colours, and ink covers
     * a real share of the image without flooding it. */
    assert_true(px.distinct > 50);
    assert_true(px.non_white > 1200 * 600 / 50);
    assert_true(px.non_white < 1200 * 600 * 3 / 4);
    /* gpu0, cpu and ram are drawn in the first three palette colours. */
    assert_true(px.has_rgb[0]);
    assert_true(px.has_rgb[1]);
    assert_true(px.has_rgb[2]);

    size_t len;
    char *text = slurp(svg, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "<svg"));
    assert_non_null(strstr(text, "width=\"1200pt\""));
    assert_non_null(strstr(text, "stroke-dasharray")); /* the idle lines */
    free(text);
    unlink(png);
    unlink(svg);
    rmdir(dir);
    aieb_run_files_free(&f);
}

/* Without power columns the plot still comes out: axes and a note. */
static void no_power_samples(void **state)
{
    (void)state;
    aieb_run_files f;
    load_fixture("cpu", &f);
    aieb_timeseries_free(&f.ts);
    const char *csv = "t_ns,t_s\n1,0.0\n2,1.0\n";
    aieb_err err = {0};
    assert_int_equal(aieb_timeseries_parse(csv, strlen(csv), &f.ts, &err), 0);
    char png[] = "/tmp/aieb-plot-empty-XXXXXX";
    int fd = mkstemp(png);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(aieb_plot_power(&f, png, NULL, &err), 0);
    pixels px;
    inspect_png(png, &px);
    assert_int_equal(px.width, 1200);
    assert_true(px.distinct > 10);
    assert_false(px.has_rgb[0]);
    unlink(png);
    aieb_run_files_free(&f);
}

/* 200,000 samples: the SVG stays small (a min and a max per pixel column) and
 * a single spike still reaches the drawing. */
static void long_timeline_is_thinned(void **state)
{
    (void)state;
    aieb_run_files f;
    load_fixture("cpu", &f);
    aieb_timeseries_free(&f.ts);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    aieb_buf_puts(&b, "t_ns,t_s,cpu_power_w\n");
    for (int i = 0; i < 200000; i++)
        aieb_buf_printf(&b, "%d,%.3f,%d\n", i, i * 0.01, i == 123457 ? 900 : 20 + i % 7);
    aieb_err err = {0};
    assert_int_equal(aieb_timeseries_parse(b.data, b.len, &f.ts, &err), 0);
    aieb_buf_free(&b);
    char svg[] = "/tmp/aieb-plot-long-XXXXXX";
    int fd = mkstemp(svg);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(aieb_plot_power(&f, NULL, svg, &err), 0);
    size_t len;
    char *text = slurp(svg, &len);
    assert_non_null(text);
    assert_true(len < 400000);
    /* The y axis goes up to the spike (1000 W is its first tick above 900). */
    assert_non_null(strstr(text, "<svg"));
    free(text);
    char png[] = "/tmp/aieb-plot-long-png-XXXXXX";
    fd = mkstemp(png);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(aieb_plot_power(&f, png, NULL, &err), 0);
    /* The spike is one sample in 200,000: its column of the plot still reaches
     * near the top of the plot area (y < 110 px) in the line's colour. */
    cairo_surface_t *s = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int high = 0;
    for (int y = 56; y < 110 && !high; y++)
        for (int x = 80; x < 950; x++) {
            uint32_t v = ((const uint32_t *)(data + (size_t)y * (size_t)stride))[x] & 0xffffff;
            int r = (int)(v >> 16), g = (int)(v >> 8 & 0xff), bl = (int)(v & 0xff);
            if (bl > 150 && r < 120 && g < 160) { /* the blue of the first channel */
                high = 1;
                break;
            }
        }
    assert_true(high);
    cairo_surface_destroy(s);
    unlink(png);
    unlink(svg);
    aieb_run_files_free(&f);
}

static void write_errors(void **state)
{
    (void)state;
    aieb_run_files f;
    load_fixture("gpu", &f);
    aieb_err err = {0};
    assert_int_equal(aieb_plot_power(&f, "/nonexistent-dir/power.png", NULL, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/power.png"));
    assert_int_equal(aieb_plot_power(&f, NULL, "/nonexistent-dir/power.svg", &err), AIEB_EIO);
    aieb_run_files_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(png_and_svg_from_a_run),
        cmocka_unit_test(no_power_samples),
        cmocka_unit_test(long_timeline_is_thinned),
        cmocka_unit_test(write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
