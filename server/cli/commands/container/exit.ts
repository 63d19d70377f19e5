/** Docker's status when the engine, not the program, failed (also its run and exec's usage errors). */
export const BERTH_FAILED_EXIT = 125;
