/* somna sim — writing a simulated night: EDF+ recording and truth files.
 *
 * Stage annotations use the Sleep-EDF wording ("Sleep stage W", "Sleep stage
 * 1", "2", "3", "R"; Kemp et al. 2000), one annotation per run of equal
 * stages, which every Sleep-EDF reader (MNE, YASA, Luna) already maps.
 * Truth files are TSV with a header line; numbers are written with
 * somna_format_double so they read back exactly.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "somna/edf.h"
#include "somna/fileio.h"
#include "somna/json.h"
#include "somna/sim.h"

static const char *stage_label(int s)
{
    switch (s) {
    case SOMNA_STAGE_W: return "W";
    case SOMNA_STAGE_N1: return "N1";
    case SOMNA_STAGE_N2: return "N2";
    case SOMNA_STAGE_N3: return "N3";
    case SOMNA_STAGE_REM: return "R";
    default: return "?";
    }
}

static const char *edf_stage_text(int s)
{
    switch (s) {
    case SOMNA_STAGE_W: return "Sleep stage W";
    case SOMNA_STAGE_N1: return "Sleep stage 1";
    case SOMNA_STAGE_N2: return "Sleep stage 2";
    case SOMNA_STAGE_N3: return "Sleep stage 3";
    case SOMNA_STAGE_REM: return "Sleep stage R";
    default: return "Sleep stage ?";
    }
}

static const char *kind_name(int kind)
{
    static const char *const names[SOMNA_SIM_N_KINDS] = {"EEG C4-M1", "EEG Fpz-Cz", "EOG E1-M2", "EOG E2-M1",
                                                         "EMG Chin", "ECG", "EMG Chin RMS", "Resp Thorax",
                                                         "Temp Skin Foot", "Acc X", "Acc Y", "Acc Z"};
    return (kind >= 0 && kind < SOMNA_SIM_N_KINDS) ? names[kind] : "all EEG";
}

static void num(FILE *f, double v)
{
    char b[40];
    somna_format_double(b, sizeof b, v);
    fputs(b, f);
}

static int path_join(char *out, size_t size, const char *dir, const char *name, const char *suffix, somna_err *err)
{
    int n = snprintf(out, size, "%s/%s%s", dir, name, suffix);
    if (n < 0 || (size_t)n >= size)
        return somna_fail(err, SOMNA_E_ARG, "night writer: output path '%s/%s%s' is too long", dir, name, suffix);
    return SOMNA_OK;
}

static int write_truth(const somna_sim_night *g, somna_outfile *hyp, somna_outfile *rp, somna_outfile *evf)
{
    const somna_hypnogram *h = somna_sim_night_hypnogram(g);
    fputs("epoch\tonset_s\tstage\tlabel\n", hyp->fp);
    for (size_t k = 0; k < h->n_epochs; k++) {
        fprintf(hyp->fp, "%zu\t", k);
        num(hyp->fp, (double)k * h->epoch_s);
        fprintf(hyp->fp, "\t%d\t%s\n", h->stages[k], stage_label(h->stages[k]));
    }
    size_t nb;
    const somna_sim_beat *b = somna_sim_night_beats(g, &nb);
    fputs("sample\ttime_s\ttype\tstage\n", rp->fp);
    for (size_t i = 0; i < nb; i++) {
        fprintf(rp->fp, "%lld\t", (long long)b[i].sample);
        num(rp->fp, b[i].time_s);
        fprintf(rp->fp, "\t%c\t%s\n", b[i].type, stage_label(b[i].stage));
    }
    size_t ne;
    const somna_sim_event *e = somna_sim_night_events(g, &ne);
    fputs("type\tchannel\tonset_s\tduration_s\tpeak_s\tfreq_hz\tamplitude\tstage\n", evf->fp);
    for (size_t i = 0; i < ne; i++) {
        fprintf(evf->fp, "%s\t%s\t", somna_sim_event_name(e[i].type), kind_name(e[i].channel));
        num(evf->fp, e[i].onset_s);
        fputc('\t', evf->fp);
        num(evf->fp, e[i].duration_s);
        fputc('\t', evf->fp);
        num(evf->fp, e[i].peak_s);
        fputc('\t', evf->fp);
        num(evf->fp, e[i].freq_hz);
        fputc('\t', evf->fp);
        num(evf->fp, e[i].amplitude);
        fprintf(evf->fp, "\t%s\n", stage_label(e[i].stage));
    }
    return (ferror(hyp->fp) || ferror(rp->fp) || ferror(evf->fp)) ? -1 : 0;
}

static void summarise(const somna_sim_night *g, somna_sim_night_summary *s)
{
    memset(s, 0, sizeof *s);
    const somna_hypnogram *h = somna_sim_night_hypnogram(g);
    double em = h->epoch_s / 60.0;
    long first = -1, last = -1;
    for (size_t k = 0; k < h->n_epochs; k++) {
        int st = h->stages[k];
        if (st >= 0 && st <= 4)
            s->stage_min[st] += em;
        if (somna_stage_is_sleep(st)) {
            if (first < 0)
                first = (long)k;
            last = (long)k;
        }
    }
    s->tib_min = (double)h->n_epochs * em;
    s->tst_min = s->stage_min[1] + s->stage_min[2] + s->stage_min[3] + s->stage_min[4];
    s->sol_min = first >= 0 ? (double)first * em : NAN;
    for (long k = first; first >= 0 && k <= last; k++) {
        if (h->stages[k] == SOMNA_STAGE_W) {
            s->waso_min += em;
            if (h->stages[k - 1] != SOMNA_STAGE_W)
                s->awakenings++;
        }
    }
    size_t nb;
    const somna_sim_beat *b = somna_sim_night_beats(g, &nb);
    double sum[5] = {0}, cnt[5] = {0};
    for (size_t i = 1; i < nb; i++) {
        if (b[i].type == 'V')
            s->n_ectopic++;
        if (b[i].type != 'N' || b[i - 1].type != 'N' || b[i].stage < 0 || b[i].stage > 4)
            continue;
        sum[b[i].stage] += b[i].time_s - b[i - 1].time_s;
        cnt[b[i].stage] += 1.0;
    }
    for (int k = 0; k < 5; k++)
        s->mean_hr_stage[k] = cnt[k] > 0 ? 60.0 / (sum[k] / cnt[k]) : NAN;
    s->n_beats = nb;
    size_t ne;
    const somna_sim_event *e = somna_sim_night_events(g, &ne);
    for (size_t i = 0; i < ne; i++) {
        if (e[i].type == SOMNA_SIM_EV_SPINDLE)
            s->n_spindles++;
        else if (e[i].type == SOMNA_SIM_EV_SLOWWAVE)
            s->n_slow_waves++;
        else if (e[i].type == SOMNA_SIM_EV_KCOMPLEX)
            s->n_kcomplexes++;
    }
    s->n_channels = somna_sim_night_n_channels(g);
}

int somna_sim_night_write(const somna_sim_night_params *p, const char *dir, const char *name,
                          somna_sim_night_summary *summary, somna_err *err)
{
    char path[4096], hpath[4096], rpath[4096], epath[4096];
    int rc;
    if ((rc = path_join(path, sizeof path, dir, name, ".edf", err)) ||
        (rc = path_join(hpath, sizeof hpath, dir, name, ".hypnogram.tsv", err)) ||
        (rc = path_join(rpath, sizeof rpath, dir, name, ".rpeaks.tsv", err)) ||
        (rc = path_join(epath, sizeof epath, dir, name, ".events.tsv", err)))
        return rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return somna_fail(err, SOMNA_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));

    somna_sim_night *g = NULL;
    if ((rc = somna_sim_night_create(p, &g, err)))
        return rc;
    const int nch = somna_sim_night_n_channels(g);
    somna_edf_signal_spec specs[SOMNA_SIM_N_KINDS];
    memset(specs, 0, sizeof specs);
    for (int i = 0; i < nch; i++) {
        const somna_sim_channel *c = somna_sim_night_channel(g, i);
        specs[i].label = c->label;
        specs[i].unit = c->unit;
        specs[i].transducer = c->kind <= SOMNA_SIM_EMG_CHIN ? "AgAgCl electrode" : NULL;
        specs[i].samples_per_record = c->fs;
        specs[i].phys_min = c->phys_min;
        specs[i].phys_max = c->phys_max;
    }
    char recording[81];
    /* EDF+ recording subfields after the start date: admin code, technician,
     * equipment (EDFlib refuses a file with fewer) */
    snprintf(recording, sizeof recording, "X X somna-simulate_seed=%llu", (unsigned long long)p->seed);
    const somna_hypnogram *h = somna_sim_night_hypnogram(g);
    double start = h->start_clock_s;
    somna_edf_writer_spec ws = {
        .bdf = 0,
        .patient = "X X X X",
        .recording = recording,
        .start_year = p->start_year,
        .start_month = p->start_month,
        .start_day = p->start_day,
        .start_hour = (int)(start / 3600.0),
        .start_minute = (int)fmod(start / 60.0, 60.0),
        .start_second = (int)fmod(start, 60.0),
        .record_duration = 1.0,
        .n_signals = nch,
        .signals = specs,
        .max_annotation_bytes_per_record = 0,
    };
    somna_edf_writer *w = NULL;
    somna_outfile oh = {0}, orp = {0}, oev = {0};
    if ((rc = somna_edf_writer_open(path, &ws, &w, err)))
        goto fail;
    /* one annotation per run of equal stages */
    for (size_t k = 0; k < h->n_epochs;) {
        size_t j = k;
        while (j < h->n_epochs && h->stages[j] == h->stages[k])
            j++;
        if ((rc = somna_edf_writer_add_annotation(w, (double)k * h->epoch_s, (double)(j - k) * h->epoch_s,
                                                  edf_stage_text(h->stages[k]), err)))
            goto fail;
        k = j;
    }
    const double *const *data;
    const double *rec[SOMNA_SIM_N_KINDS];
    const int per_epoch = (int)h->epoch_s;
    while (somna_sim_night_next_epoch(g, &data) == 1) {
        for (int r = 0; r < per_epoch; r++) {
            for (int i = 0; i < nch; i++)
                rec[i] = data[i] + (size_t)r * (size_t)somna_sim_night_channel(g, i)->fs;
            if ((rc = somna_edf_writer_put_record(w, rec, err)))
                goto fail;
        }
    }
    if ((rc = somna_outfile_open(&oh, hpath, err)) || (rc = somna_outfile_open(&orp, rpath, err)) ||
        (rc = somna_outfile_open(&oev, epath, err)))
        goto fail;
    if (write_truth(g, &oh, &orp, &oev)) {
        rc = somna_fail(err, SOMNA_E_IO, "%s: write failed: %s", dir, strerror(errno));
        goto fail;
    }
    rc = somna_edf_writer_close(w, err);
    w = NULL;
    if (rc)
        goto fail;
    if ((rc = somna_outfile_commit(&oh, err)) || (rc = somna_outfile_commit(&orp, err)) ||
        (rc = somna_outfile_commit(&oev, err)))
        goto fail;
    if (summary)
        summarise(g, summary);
    somna_sim_night_free(g);
    return SOMNA_OK;
fail:
    if (w)
        somna_edf_writer_abort(w);
    if (oh.fp)
        somna_outfile_abort(&oh);
    if (orp.fp)
        somna_outfile_abort(&orp);
    if (oev.fp)
        somna_outfile_abort(&oev);
    somna_sim_night_free(g);
    return rc;
}
