/* somna — EDF+ annotation hypnograms as distributed with Sleep-EDF
 * (Kemp et al. 2000; EDF+ TALs, Kemp & Olivan 2003).
 *
 * Each stage is one annotation "Sleep stage W|1|2|3|4|R|?" or "Movement
 * time" with an onset and a duration that may span many epochs.  Other
 * annotations (lights, comments) are not stages and are ignored; an
 * annotation that starts with "Sleep stage" but carries an unknown stage
 * is an error naming the annotation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/edf.h"
#include "somna/hypno.h"
#include "somna/parse.h"
#include "sleep/hypno_internal.h"

static int is_stage_annotation(const char *text)
{
    return somna_strnieq(text, "Sleep stage", 11) || somna_strieq(text, "Movement time");
}

int hypno_read_edf(const char *path, const somna_hypno_read_opts *o, somna_hypnogram *h, somna_err *err)
{
    somna_edf *edf = NULL;
    int rc = somna_edf_open(path, &edf, err);
    if (rc)
        return rc;
    const somna_edf_header *hd = somna_edf_get_header(edf);
    size_t na = 0;
    const somna_edf_annotation *an = somna_edf_annotations(edf, &na);
    hypno_interval *iv = malloc((na ? na : 1) * sizeof *iv);
    if (!iv) {
        somna_edf_close(edf);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    for (size_t i = 0; i < na; i++) {
        const char *text = an[i].text ? an[i].text : "";
        if (!is_stage_annotation(text))
            continue;
        int st;
        if (somna_hypno_parse_label(text, &st)) {
            rc = somna_fail(err, SOMNA_E_FORMAT, "%s: annotation %zu at %.3f s: unknown sleep stage '%s'", path,
                            i + 1, an[i].onset, text);
            break;
        }
        if (an[i].duration < 0) {
            rc = somna_fail(err, SOMNA_E_FORMAT,
                            "%s: annotation %zu '%s' at %.3f s has no duration (stage length unknown)", path, i + 1,
                            text, an[i].onset);
            break;
        }
        iv[n].onset = an[i].onset;
        iv[n].duration = an[i].duration;
        iv[n].stage = st;
        iv[n].tag = i + 1;
        n++;
    }
    if (rc == SOMNA_OK) {
        double t0 = 0;
        rc = hypno_from_intervals(iv, n, o && o->epoch_s > 0 ? o->epoch_s : 30.0, o ? o->fill_gaps : 0, path,
                                  "annotation", h, &t0, err);
        if (rc == SOMNA_OK) {
            double start = hd->start_hour * 3600.0 + hd->start_minute * 60.0 + hd->start_second +
                           hd->start_subsecond + t0;
            h->start_clock_s = fmod(start, 86400.0);
            if (hd->start_year > 0 && t0 < 86400.0 - (start - t0))
                snprintf(h->start_date, sizeof h->start_date, "%04d-%02d-%02d", hd->start_year % 10000,
                         hd->start_month % 100, hd->start_day % 100);
        }
    }
    free(iv);
    somna_edf_close(edf);
    return rc;
}
