/* clipget: prints the text on the X clipboard (the CLIPBOARD selection),
 * for tests under Xvfb that check what an app copied. Exits 3 when the
 * clipboard is empty, 4 when its owner does not answer in 5 s. */
#include <X11/Xlib.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) {
		fprintf(stderr, "clipget: cannot open display\n");
		return 1;
	}
	Window w = XCreateSimpleWindow(d, DefaultRootWindow(d), 0, 0, 1, 1, 0, 0, 0);
	Atom clip = XInternAtom(d, "CLIPBOARD", False);
	Atom utf8 = XInternAtom(d, "UTF8_STRING", False);
	Atom prop = XInternAtom(d, "CLIPGET", False);
	XConvertSelection(d, clip, utf8, prop, w, CurrentTime);
	XFlush(d);
	for (int i = 0; i < 500; i++) {
		while (XPending(d)) {
			XEvent ev;
			XNextEvent(d, &ev);
			if (ev.type != SelectionNotify) {
				continue;
			}
			if (ev.xselection.property == None) {
				return 3;
			}
			Atom type;
			int format;
			unsigned long n, after;
			unsigned char *data = NULL;
			XGetWindowProperty(d, w, prop, 0, 1 << 20, False, AnyPropertyType,
				&type, &format, &n, &after, &data);
			if (data != NULL) {
				fwrite(data, 1, n, stdout);
				XFree(data);
			}
			XCloseDisplay(d);
			return 0;
		}
		usleep(10000);
	}
	return 4;
}
