/* Helpers shared by the files of the study module (not public API). */
#ifndef SOMNA_STUDY_INTERNAL_H
#define SOMNA_STUDY_INTERNAL_H

#include "somna/db.h"
#include "somna/error.h"

/* End a transaction begun with somna_db_begin: commit when rc is 0, roll
 * back otherwise (also when the commit itself fails); returns the final
 * status, rc or the commit's error. */
int somna_db_end(somna_db *db, int rc, somna_err *err);

#endif
