/* Stubs replacing libsox's optional deps (libmagic, libpng16, libgsm, libz) in the
   bundle. Only wav I/O + rate/tempo/gain are used, which never call these.
   magic_* fail softly (libsox treats a NULL cookie as "no libmagic");
   everything else aborts with a clear message instead of crashing. */
#include <stddef.h>
#include <unistd.h>
#include <string.h>
__attribute__((unused)) static void die(const char *what) {
  const char *p = "sox (bundle): feature needs ";
  (void)!write(2, p, strlen(p)); (void)!write(2, what, strlen(what));
  p = ", which is stubbed out in this bundle (only wav/rate/tempo/gain supported)\n";
  (void)!write(2, p, strlen(p)); _exit(2);
}
#if defined(STUB_MAGIC)
void *magic_open(int flags) { (void)flags; return NULL; }
int magic_load(void *m, const char *f) { (void)m; (void)f; return -1; }
const char *magic_buffer(void *m, const void *b, size_t n) { (void)m; (void)b; (void)n; return NULL; }
void magic_close(void *m) { (void)m; }
#elif defined(STUB_GSM)
void *gsm_create(void) { die("libgsm (GSM codec)"); return NULL; }
void gsm_destroy(void *g) { (void)g; }
int gsm_option(void *g, int o, int *v) { (void)g; (void)o; (void)v; die("libgsm (GSM codec)"); return -1; }
void gsm_encode(void *g, void *s, void *c) { (void)g; (void)s; (void)c; die("libgsm (GSM codec)"); }
int gsm_decode(void *g, void *c, void *s) { (void)g; (void)c; (void)s; die("libgsm (GSM codec)"); return -1; }
#elif defined(STUB_Z)
int uncompress(void *d, unsigned long *dl, const void *s, unsigned long sl) { (void)d; (void)dl; (void)s; (void)sl; die("zlib (spectrogram)"); return -1; }
#elif defined(STUB_PNG)
#define F(n) void *n(void) { die("libpng (spectrogram)"); return NULL; }
F(png_create_info_struct) F(png_create_write_struct) F(png_destroy_write_struct) F(png_init_io)
F(png_set_IHDR) F(png_set_PLTE) F(png_set_rows) F(png_write_png)
#endif
