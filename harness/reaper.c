/* What a run leaves behind, taken back: processes that left the back end's
 * process group (setsid, a double fork) and outlived it, and the files a
 * back end wrote under the case's directory, at any depth.
 *
 * The runner and each job worker are child subreapers, so an orphan below
 * them is reparented to them rather than to init: after a case every child
 * still there is one the case's processes left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reaper.h"

#define GROUP_GONE_MS 1000    /* SIGKILLed members take this long at most to go */
#define MAX_ROUNDS    8       /* a killed leftover's own children come next round */
#define MAX_CHILDREN  64
#define MAX_DEPTH     64      /* rmtree: deeper than this is left (and said) */

int vhc_reaper_init(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int vhc_die_with_parent(pid_t parent, int sig)
{
    if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0)
        return -1;
    /* the parent may have died before the prctl: then nobody sends it */
    if (getppid() != parent)
        raise(sig);
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void reap_zombies(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* Our children, read from /proc/PID/stat (field 4 is the parent; the
 * command, field 2, may hold blanks and parentheses: it ends at the last
 * ')').  Returns how many, names in comm[]. */
static size_t list_children(pid_t *pids, char (*comm)[32], size_t cap)
{
    DIR *d = opendir("/proc");
    size_t n = 0;
    pid_t me = getpid();
    for (struct dirent *e; d && n < cap && (e = readdir(d));) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
        char state;
        int ppid;
        if (!open_paren || !close_paren ||
            sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2 || ppid != me)
            continue;
        pids[n] = (pid_t)pid;
        snprintf(comm[n], sizeof comm[n], "%.*s", (int)(close_paren - open_paren - 1),
                 open_paren + 1);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Wait until no process is left in group pgid (its SIGKILLed members die
 * and, their parents gone, come to us as zombies to reap). */
static void wait_group_gone(pid_t pgid)
{
    for (int waited = 0; pgid > 0 && waited < GROUP_GONE_MS; waited += 5) {
        reap_zombies();
        if (kill(-pgid, 0) < 0 && errno == ESRCH)
            return;
        sleep_ms(5);
    }
}

static void note(char *said, size_t len, pid_t pid, const char *comm)
{
    size_t used = strlen(said);
    if (used + 1 < len)
        snprintf(said + used, len - used, "%s%d (%s)", used ? ", " : "", (int)pid, comm);
}

unsigned vhc_reap_leftovers(pid_t pgid, char *said, size_t len)
{
    unsigned killed = 0;
    if (len)
        said[0] = '\0';
    wait_group_gone(pgid);
    for (int round = 0; round < MAX_ROUNDS; round++) {
        pid_t pids[MAX_CHILDREN];
        char comm[MAX_CHILDREN][32];
        reap_zombies();
        size_t n = list_children(pids, comm, MAX_CHILDREN);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            /* a setsid'd leftover leads a group of its own: take it whole */
            if (getpgid(pids[i]) == pids[i])
                kill(-pids[i], SIGKILL);
            kill(pids[i], SIGKILL);
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
                ;
            wait_group_gone(pids[i]);
            note(said, len, pids[i], comm[i]);
            killed++;
        }
    }
    return killed;
}

/* ---- the case's directory ---- */

/* Remove what is in the directory fd names, depth first; symlinks are
 * removed, never followed.  Returns 0, or -1 when something stayed. */
static int empty_at(int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {   /* EPERM: Linux's answer for a dir */
            rc = -1;
            continue;
        }
        int sub = openat(dirfd(d), e->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 && errno == EACCES && fchmodat(dirfd(d), e->d_name, 0700, 0) == 0)
            sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || depth >= MAX_DEPTH || empty_at(sub, depth + 1) < 0 ||
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0) {
            if (sub >= 0 && depth >= MAX_DEPTH)
                close(sub);
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

int vhc_rmtree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = empty_at(fd, 0);
    if (rmdir(path) < 0)
        rc = -1;
    return rc;
}
