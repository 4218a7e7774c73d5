/* Plot canvas (SVG text, PNG through cairo) and the hypnogram figure.
 * Expected values follow from the definitions: the viewport is a linear
 * map, ticks follow Heckbert's 1-2-2.5-5 rule, XML escaping per XML 1.0,
 * PNG signature and IHDR layout per the PNG specification (RFC 2083). */
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "somna/plot.h"
#include "test_util.h"

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + k, needle))
        n++;
    return n;
}

static void test_escape(void **state)
{
    (void)state;
    char buf[128];
    size_t n = somna_plot_xml_escape(buf, sizeof buf, "a<b & \"c\" 'd'>");
    assert_string_equal(buf, "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    assert_int_equal(n, strlen(buf));
    /* truncation: needed length returned, output terminated */
    char small[6];
    assert_int_equal(somna_plot_xml_escape(small, sizeof small, "&&"), 10);
    assert_int_equal(strlen(small), 5);
    /* control characters are dropped, UTF-8 kept */
    somna_plot_xml_escape(buf, sizeof buf, "\x01\xc3\x89veil");
    assert_string_equal(buf, "\xc3\x89veil");
}

static void test_ticks(void **state)
{
    (void)state;
    double t[16];
    size_t n = somna_plot_nice_ticks(0, 10, 6, t, 16); /* raw step 2 -> 2 */
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_close_abs(t[i], 2.0 * (double)i, 1e-12);
    n = somna_plot_nice_ticks(0.13, 0.97, 5, t, 16); /* raw 0.21 -> 0.25: 0.25 0.5 0.75 */
    assert_int_equal(n, 3);
    assert_close_abs(t[0], 0.25, 1e-12);
    assert_close_abs(t[2], 0.75, 1e-12);
    n = somna_plot_nice_ticks(-3, 3, 4, t, 16); /* raw 2 -> 2: -2 0 2 */
    assert_int_equal(n, 3);
    assert_true(t[1] == 0.0);
    assert_int_equal(somna_plot_nice_ticks(1, 1, 5, t, 16), 0);
}

static void test_viewport_and_svg(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_plot_canvas *c;
    assert_int_equal(somna_plot_canvas_create(600, 300, &c, &err), 0);
    assert_int_equal(somna_plot_set_viewport(c, 100, 50, 500, 250, 0, 10, 0, 4), 0);
    assert_true(somna_plot_px(c, 0) == 100 && somna_plot_px(c, 10) == 500 && somna_plot_px(c, 5) == 300);
    assert_true(somna_plot_py(c, 0) == 250 && somna_plot_py(c, 4) == 50 && somna_plot_py(c, 1) == 200);
    assert_int_not_equal(somna_plot_set_viewport(c, 0, 0, 10, 10, 1, 1, 0, 1), 0);
    /* a German locale must not turn 12.5 into 12,5 */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL)
        setlocale(LC_NUMERIC, "C");
    somna_plot_style s = somna_plot_stroke(0x123456, 1.5);
    s.dash = 4;
    assert_int_equal(somna_plot_line(c, 0, 0, 10, 4, &s), 0);
    double xs[3] = {0, 5, 10}, ys[3] = {0, 4, 0};
    assert_int_equal(somna_plot_polyline(c, xs, ys, 3, NULL), 0);
    somna_plot_style f = somna_plot_fill(0xC62828);
    f.opacity = 0.5;
    assert_int_equal(somna_plot_rect(c, 2, 3, 1, 1, &f), 0); /* corners in any order */
    somna_plot_font font = {10, 1, 0x000000, SOMNA_PLOT_ANCHOR_MIDDLE, 90};
    assert_int_equal(somna_plot_text(c, 0.25, 1, "A & <B>", &font), 0);
    char *svg = NULL;
    size_t len = 0;
    assert_int_equal(somna_plot_svg_string(c, &svg, &len, &err), 0);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(len, strlen(svg));
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "width=\"600\" height=\"300\""));
    assert_non_null(strstr(svg, "<line x1=\"100\" y1=\"250\" x2=\"500\" y2=\"50\" stroke=\"#123456\" "
                                "stroke-width=\"1.5\" stroke-dasharray=\"4,4\""));
    assert_non_null(strstr(svg, "points=\"100,250 300,50 500,250\""));
    /* rect x 1..2 -> px 140..180, y 1..3 -> px 200..100 */
    assert_non_null(strstr(svg, "<rect x=\"140\" y=\"100\" width=\"40\" height=\"100\" stroke=\"none\" "
                                "fill=\"#C62828\" opacity=\"0.5\""));
    /* text at (0.25, 1) -> (110, 200), rotated 90 deg counter-clockwise */
    assert_non_null(strstr(svg, "<text x=\"110\" y=\"200\" font-size=\"10\" text-anchor=\"middle\""));
    assert_non_null(strstr(svg, "transform=\"rotate(-90 110 200)\""));
    assert_non_null(strstr(svg, ">A &amp; &lt;B&gt;</text>"));
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);
    somna_plot_canvas_destroy(c);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_png_and_files(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_plot_canvas *c;
    assert_int_equal(somna_plot_canvas_create(200, 100, &c, &err), 0);
    somna_plot_style s = somna_plot_fill(0xFF0000);
    assert_int_equal(somna_plot_rect(c, 0, 0, 100, 100, &s), 0);
    assert_int_equal(somna_plot_text(c, 10, 50, "\xc3\x89veil", NULL), 0);
    char png[1024], svg[1024], bad[1024];
    test_tmp_path(png, sizeof png, "plot_test.png");
    test_tmp_path(svg, sizeof svg, "plot_test.SVG");
    test_tmp_path(bad, sizeof bad, "no_such_dir/x.png");
    remove(png);
    assert_int_equal(somna_plot_save(c, png, &err), 0); /* .png: 2x scale */
    FILE *fp = fopen(png, "rb");
    assert_non_null(fp);
    unsigned char hdr[24];
    assert_int_equal(fread(hdr, 1, 24, fp), 24);
    fclose(fp);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    assert_memory_equal(hdr, sig, 8);
    assert_memory_equal(hdr + 12, "IHDR", 4);
    assert_int_equal(be32(hdr + 16), 400);
    assert_int_equal(be32(hdr + 20), 200);
    assert_int_equal(somna_plot_save(c, svg, &err), 0); /* extension case-insensitive */
    assert_int_not_equal(somna_plot_save(c, "out.jpg", &err), 0);
    assert_non_null(strstr(err.msg, ".svg or .png"));
    assert_int_not_equal(somna_plot_save_png(c, bad, 1.0, &err), 0);
    fp = fopen(bad, "rb");
    assert_null(fp);
    somna_plot_canvas_destroy(c);
    assert_int_not_equal(somna_plot_canvas_create(0, 100, &c, &err), 0);
}

static void test_hypnogram_figure(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    /* 3 h from 22:30: W, N1, N2, REM x2, ART, REM, N3 ... in 30-min blocks */
    static const int8_t blocks[] = {SOMNA_STAGE_W, SOMNA_STAGE_N2, SOMNA_STAGE_REM, SOMNA_STAGE_ART,
                                    SOMNA_STAGE_REM, SOMNA_STAGE_N3};
    int8_t st[360];
    for (int i = 0; i < 360; i++)
        st[i] = blocks[i / 60];
    somna_hypnogram h;
    memset(&h, 0, sizeof h);
    h.epoch_s = 30;
    h.n_epochs = 360;
    h.stages = st;
    h.start_clock_s = 22.5 * 3600;
    somna_plot_canvas *c;
    assert_int_equal(somna_plot_canvas_create(1000, 320, &c, &err), 0);
    somna_plot_hypno_opts o = {"Night <1>", 600.0, 10200.0};
    assert_int_equal(somna_plot_hypnogram(c, &h, &o, &err), 0);
    char *svg;
    assert_int_equal(somna_plot_svg_string(c, &svg, NULL, &err), 0);
    assert_int_equal(count_substr(svg, "fill=\"#C62828\""), 3);  /* two REM runs + legend */
    assert_int_equal(count_substr(svg, "fill=\"#D9D9D9\""), 2);  /* one artefact band + legend */
    assert_non_null(strstr(svg, ">artefact / unscored</text>"));
    assert_int_equal(count_substr(svg, "<polyline"), 2);         /* trace broken by the artefact */
    assert_non_null(strstr(svg, ">REM</text>"));
    assert_non_null(strstr(svg, ">N3</text>"));
    assert_non_null(strstr(svg, ">23:00</text>")); /* 3-h record: ticks every 30 min */
    assert_non_null(strstr(svg, ">01:30</text>"));
    assert_non_null(strstr(svg, ">lights off</text>"));
    assert_non_null(strstr(svg, ">lights on</text>"));
    assert_non_null(strstr(svg, ">Night &lt;1&gt;</text>"));
    assert_non_null(strstr(svg, ">Clock time (hh:mm)</text>"));
    free(svg);
    somna_plot_canvas_destroy(c);
    /* unknown start time: elapsed-time axis */
    h.start_clock_s = -1;
    assert_int_equal(somna_plot_canvas_create(1000, 320, &c, &err), 0);
    assert_int_equal(somna_plot_hypnogram(c, &h, NULL, &err), 0);
    assert_int_equal(somna_plot_svg_string(c, &svg, NULL, &err), 0);
    assert_non_null(strstr(svg, ">0:30</text>"));
    assert_non_null(strstr(svg, "Time from start of scoring"));
    free(svg);
    somna_plot_canvas_destroy(c);
    /* a 20-min nap without REM or artefact: 5-min ticks, no legend entries */
    h.n_epochs = 40;
    for (int i = 0; i < 40; i++)
        st[i] = (int8_t)(i < 8 ? SOMNA_STAGE_W : SOMNA_STAGE_N2);
    assert_int_equal(somna_plot_canvas_create(1000, 320, &c, &err), 0);
    assert_int_equal(somna_plot_hypnogram(c, &h, NULL, &err), 0);
    assert_int_equal(somna_plot_svg_string(c, &svg, NULL, &err), 0);
    assert_non_null(strstr(svg, ">0:05</text>"));
    assert_non_null(strstr(svg, ">0:20</text>"));
    assert_null(strstr(svg, "#C62828"));
    assert_null(strstr(svg, "#D9D9D9"));
    free(svg);
    somna_plot_canvas_destroy(c);
    /* too small a canvas is refused */
    assert_int_equal(somna_plot_canvas_create(100, 60, &c, &err), 0);
    assert_int_not_equal(somna_plot_hypnogram(c, &h, NULL, &err), 0);
    somna_plot_canvas_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_viewport_and_svg),
        cmocka_unit_test(test_png_and_files),
        cmocka_unit_test(test_hypnogram_figure),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    somna_plot_release_caches();
    return rc;
}
