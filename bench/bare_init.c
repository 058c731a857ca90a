/* The bare boot's /init: reaching it is the point; restart (and so end the VM) at once. */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	reboot(RB_AUTOBOOT);
	return 0;
}
