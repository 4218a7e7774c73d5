/* A simulated night written by somna_sim_night_write reads back with
 * EDFlib (the reference EDF+ implementation): file type EDF+, start time,
 * signal layout, every sample equal to the generator's output within half
 * a quantisation step, stage annotations matching the truth hypnogram
 * run by run, and the truth TSV files consistent with both. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <edflib.h>

#include "test_util.h"
#include "somna/sim.h"

/* EDFlib keeps the header's blank padding */
static const char *trimmed(const char *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", s);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

static void test_edflib_reads_night(void **state)
{
    (void)state;
    char dir[512];
    test_tmp_path(dir, sizeof dir, "sim_edflib");
    somna_sim_night_params p;
    somna_sim_night_params_default(&p, 1);
    p.sleep.tib_min = 60;
    p.sleep.sol_min = 7;
    p.seed = 99;
    p.extras = 1;
    p.emg_envelope = 1;
    p.line_noise_hz = 50;
    p.artefacts = 1;
    p.ectopy = 0.01;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_sim_night_summary sum;
    assert_int_equal(somna_sim_night_write(&p, dir, "nap", &sum, &err), 0);
    assert_int_equal(sum.n_channels, 12);
    assert_close_abs(sum.sol_min, 7.0, 1e-12);

    char path[600];
    snprintf(path, sizeof path, "%s/nap.edf", dir);
    struct edf_hdr_struct hdr;
    assert_int_equal(edfopen_file_readonly(path, &hdr, EDFLIB_READ_ALL_ANNOTATIONS), 0);
    assert_int_equal(hdr.filetype, 1); /* EDF+ */
    assert_int_equal(hdr.edfsignals, 12);
    assert_int_equal(hdr.datarecords_in_file, 3600);
    assert_int_equal(hdr.starttime_hour, 13);
    assert_int_equal(hdr.starttime_minute, 30);
    assert_int_equal(hdr.startdate_year, 2026);

    /* regenerate the same night in memory and compare every sample */
    somna_sim_night *g;
    assert_int_equal(somna_sim_night_create(&p, &g, &err), 0);
    assert_int_equal(somna_sim_night_n_channels(g), hdr.edfsignals);
    double *buf[12];
    double step[12];
    for (int c = 0; c < 12; c++) {
        const somna_sim_channel *ch = somna_sim_night_channel(g, c);
        char t1[100];
        assert_string_equal(trimmed(hdr.signalparam[c].label, t1, sizeof t1), ch->label);
        assert_string_equal(trimmed(hdr.signalparam[c].physdimension, t1, sizeof t1), ch->unit);
        assert_int_equal(hdr.signalparam[c].smp_in_datarecord, ch->fs);
        buf[c] = malloc(30 * (size_t)ch->fs * sizeof(double));
        step[c] = (hdr.signalparam[c].phys_max - hdr.signalparam[c].phys_min) /
                  (double)(hdr.signalparam[c].dig_max - hdr.signalparam[c].dig_min);
    }
    const double *const *d;
    size_t worst_c = 0;
    double worst = 0.0;
    while (somna_sim_night_next_epoch(g, &d) == 1) {
        for (int c = 0; c < 12; c++) {
            int n = 30 * somna_sim_night_channel(g, c)->fs;
            assert_int_equal(edfread_physical_samples(hdr.handle, c, n, buf[c]), n);
            const somna_sim_channel *ch = somna_sim_night_channel(g, c);
            for (int i = 0; i < n; i++) {
                double want = d[c][i] < ch->phys_min ? ch->phys_min : d[c][i] > ch->phys_max ? ch->phys_max : d[c][i];
                double e = fabs(buf[c][i] - want) / step[c];
                if (e > worst) {
                    worst = e;
                    worst_c = (size_t)c;
                }
            }
        }
    }
    if (worst > 0.5 + 1e-6)
        fail_msg("channel %zu differs by %.3f quantisation steps", worst_c, worst);

    /* stage annotations: one per run of the truth hypnogram, same onsets */
    const somna_hypnogram *h = somna_sim_night_hypnogram(g);
    static const char *const text[5] = {"Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3",
                                        "Sleep stage R"};
    long long a = 0;
    for (size_t k = 0; k < h->n_epochs;) {
        size_t j = k;
        while (j < h->n_epochs && h->stages[j] == h->stages[k])
            j++;
        struct edf_annotation_struct an;
        assert_true(a < hdr.annotations_in_file);
        assert_int_equal(edf_get_annotation(hdr.handle, (int)a, &an), 0);
        assert_string_equal(an.annotation, text[h->stages[k]]);
        assert_true(llabs(an.onset - (long long)k * 30 * 10000000LL) < 10000);
        assert_true(llabs(an.duration_l - (long long)(j - k) * 30 * 10000000LL) < 10000);
        a++;
        k = j;
    }
    assert_int_equal(a, hdr.annotations_in_file);
    edfclose_file(hdr.handle);

    /* truth files: the R-peak file lists every beat, some ventricular */
    snprintf(path, sizeof path, "%s/nap.rpeaks.tsv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    size_t rows = 0, v = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "sample\ttime_s\ttype\tstage\n");
    while (fgets(line, sizeof line, f)) {
        rows++;
        v += strstr(line, "\tV\t") != NULL;
    }
    fclose(f);
    assert_int_equal(rows, sum.n_beats);
    assert_int_equal(v, sum.n_ectopic);
    assert_true(v > 0);
    for (int c = 0; c < 12; c++)
        free(buf[c]);
    somna_sim_night_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_edflib_reads_night)};
    return cmocka_run_group_tests_name("sim edflib", tests, NULL, NULL);
}
