/* Keeps the harness library non-empty before any harness module exists. */
int ckube_harness_linked;
