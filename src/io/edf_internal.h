/* somna io — private pieces shared by the EDF reader (edf.c) and the EDF+
 * annotation parser (edf_tal.c).  Not installed. */
#ifndef SOMNA_IO_EDF_INTERNAL_H
#define SOMNA_IO_EDF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "somna/edf.h"
#include "somna/fileio.h"

struct somna_edf {
    somna_edf_header hdr;
    somna_mmap map;              /* owned mapping (empty when reading a caller's buffer) */
    const unsigned char *data;   /* whole file */
    size_t len;
    char *name;                  /* path or caller's name, for messages */
    int bytes_per_sample;        /* 2 (EDF) or 3 (BDF) */
    int plus;                    /* EDF+/BDF+ */
    size_t header_bytes;
    size_t record_bytes;
    size_t *sig_offset;          /* byte offset of each signal inside a record */
    /* EDFlib's calibration form: physical = bitvalue * (dig_offset + digital).
     * Kept separately from hdr.signals[].gain/offset so decoded values match
     * EDFlib to the last bit, not just to rounding. */
    double *bitvalue;
    double *dig_offset;
    int populated;               /* page tables prefaulted (first sample read) */
    int first_annot;             /* index of the first annotation signal, -1 if none */
    somna_edf_annotation *ann;
    size_t n_ann, cap_ann;
};

/* One TAL (time-stamped annotation list) as found in an annotation signal. */
typedef struct edf_tal_cb {
    /* Called for every TAL; texts[0..n_texts) point into a scratch buffer
     * valid during the call.  Return SOMNA_OK, or a SOMNA_E_* code (message
     * set) to abort. */
    int (*on_tal)(void *ctx, double onset, double duration, int has_duration, const char *const *texts,
                  const size_t *text_lens, size_t n_texts, size_t byte_pos, somna_err *err);
    void *ctx;
} edf_tal_cb;

/* Parse the TALs in one annotation signal's bytes of one record (EDF+ spec
 * section 2.2: "+onset[\x15duration]\x14text\x14...\x14\x00", then \x00 padding).
 * `where` (may be NULL) prefixes failure messages. */
int somna_edf_parse_tals(const unsigned char *buf, size_t len, const char *where, const edf_tal_cb *cb,
                         somna_err *err);

#endif
