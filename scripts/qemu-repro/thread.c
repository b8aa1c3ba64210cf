/* One thread started and joined: the least a threaded program does. */
#include <pthread.h>
#include <stdio.h>

static void *run(void *arg) { return arg; }

int main(void) {
	pthread_t t;
	if (pthread_create(&t, NULL, run, NULL) != 0) return 1;
	pthread_join(t, NULL);
	puts("thread ran");
	return 0;
}
