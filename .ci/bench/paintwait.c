/*
 * paintwait: launch a program and time its first window paint on X11.
 *
 *   paintwait -o RESULT -t TITLE [-s SETTLE_MS] [-T TIMEOUT_MS] -- CMD ARGS...
 *
 * Forks and execs CMD, then polls the X server (every 5 ms until the first
 * paint, every 25 ms after) for a viewable top-level window named TITLE,
 * grabs its pixels with XGetImage (the same call `import -window` makes)
 * and writes to RESULT, in milliseconds since just before the fork:
 *
 *   pid=      the program's pid (left running: the caller ends it)
 *   wid=      the window id (decimal)
 *   map_ms=   the window exists and is viewable
 *   paint_ms= the window's pixels are no longer all one colour
 *   settle_ms= the last change of the pixels before SETTLE_MS (default
 *              2000) passed with none (say, a table filled in after a
 *              background load); equal to paint_ms when nothing changed
 *   frames=   how many different images were seen
 *   timeout=1 when TIMEOUT_MS (default 20000) passed first
 *
 * A window named TITLE that is already open (say, from the previous run)
 * must close first (5 s at most).
 *
 * Built by .ci/bench/ui.sh with: gcc -O2 -o paintwait paintwait.c -lX11
 */
#define _POSIX_C_SOURCE 200809L
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int x_failed;

static int on_x_error(Display *d, XErrorEvent *e)
{
	(void)d;
	(void)e;
	x_failed = 1; /* the window went away or changed size: try again */
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* find returns a viewable window named title among root's children and
 * grandchildren, or 0. */
static Window find(Display *d, Window w, const char *title, int depth)
{
	Window root, parent, *kids = NULL, found = 0;
	unsigned int n = 0;
	x_failed = 0;
	if (!XQueryTree(d, w, &root, &parent, &kids, &n) || x_failed)
		return 0;
	for (unsigned int i = 0; i < n && !found; i++) {
		char *name = NULL;
		x_failed = 0;
		if (XFetchName(d, kids[i], &name) && !x_failed && name && strcmp(name, title) == 0) {
			XWindowAttributes a;
			if (XGetWindowAttributes(d, kids[i], &a) && !x_failed && a.map_state == IsViewable)
				found = kids[i];
		}
		if (name)
			XFree(name);
		if (!found && depth > 0)
			found = find(d, kids[i], title, depth - 1);
	}
	if (kids)
		XFree(kids);
	return found;
}

/* grab reports whether the window could be read; *uniform says whether it
 * is all one colour, *hash is a hash of its pixels. */
static int grab(Display *d, Window w, int *uniform, uint64_t *hash)
{
	XWindowAttributes a;
	x_failed = 0;
	if (!XGetWindowAttributes(d, w, &a) || x_failed || a.width <= 0 || a.height <= 0)
		return 0;
	XImage *img = XGetImage(d, w, 0, 0, a.width, a.height, AllPlanes, ZPixmap);
	XSync(d, False);
	if (!img || x_failed) {
		if (img)
			XDestroyImage(img);
		return 0;
	}
	unsigned long first = XGetPixel(img, 0, 0);
	*uniform = 1;
	uint64_t h = 1469598103934665603ULL;
	for (int y = 0; y < img->height; y++) {
		const unsigned char *row = (const unsigned char *)img->data + (size_t)y * img->bytes_per_line;
		size_t len = (size_t)img->width * img->bits_per_pixel / 8;
		for (size_t i = 0; i < len; i++)
			h = (h ^ row[i]) * 1099511628211ULL;
		if (*uniform)
			for (int x = 0; x < img->width; x++)
				if (XGetPixel(img, x, y) != first) {
					*uniform = 0;
					break;
				}
	}
	*hash = h ^ ((uint64_t)a.width << 32) ^ (uint64_t)a.height;
	XDestroyImage(img);
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: paintwait -o RESULT -t TITLE [-s SETTLE_MS] [-T TIMEOUT_MS] -- CMD ARGS...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *title = NULL;
	int settle = 2000, timeout = 20000, opt;
	while ((opt = getopt(argc, argv, "o:t:s:T:")) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 't': title = optarg; break;
		case 's': settle = atoi(optarg); break;
		case 'T': timeout = atoi(optarg); break;
		default: usage();
		}
	}
	if (!out || !title || optind >= argc)
		usage();
	FILE *res = fopen(out, "w");
	if (!res) {
		perror(out);
		return 1;
	}
	Display *d = NULL;
	for (int i = 0; i < 50 && !(d = XOpenDisplay(NULL)); i++)
		nap_ms(100);
	if (!d) {
		fprintf(stderr, "paintwait: cannot open display %s\n", getenv("DISPLAY") ? getenv("DISPLAY") : "(DISPLAY not set)");
		return 1;
	}
	XSetErrorHandler(on_x_error);
	Window root = DefaultRootWindow(d);

	/* A window of the same name from an earlier run must be gone first. */
	for (int i = 0; find(d, root, title, 1); i++) {
		if (i == 100) {
			fprintf(stderr, "paintwait: a window named %s is still open\n", title);
			return 1;
		}
		nap_ms(50);
	}

	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		perror(argv[optind]);
		_exit(127);
	}
	fprintf(res, "pid=%d\n", (int)pid);
	fflush(res);

	Window w = 0;
	double mapped = -1, painted = -1, changed = -1;
	uint64_t last = 0;
	int frames = 0, timed_out = 0;
	for (;;) {
		double t = now_ms() - t0;
		if (painted >= 0 && t - changed >= settle)
			break;
		if (t > timeout) {
			timed_out = 1;
			break;
		}
		if (!w) {
			w = find(d, root, title, 1);
			if (w)
				mapped = now_ms() - t0;
		}
		if (w) {
			int uniform;
			uint64_t h;
			if (grab(d, w, &uniform, &h)) {
				double at = now_ms() - t0;
				if (!uniform && painted < 0) {
					painted = changed = at;
					last = h;
					frames = 1;
				} else if (painted >= 0 && h != last) {
					changed = at;
					last = h;
					frames++;
				}
			}
		}
		nap_ms(painted < 0 ? 5 : 25);
	}
	fprintf(res, "wid=%lu\nmap_ms=%.0f\npaint_ms=%.0f\nsettle_ms=%.0f\nframes=%d\ntimeout=%d\n",
		(unsigned long)w, mapped, painted, changed, frames, timed_out);
	fclose(res);
	XCloseDisplay(d);
	return timed_out ? 3 : 0;
}
