/* Placeholder: the probe is being written. */
int main (void) { return 0; }
