/* test_client_sync_plan.c: the rules of kasten sync (client_sync.h R1-R9) and its safety
 * rules (S1-S3), one case each, on the pure planners: client_sync_plan_msgs,
 * client_sync_find_moves, client_sync_plan_folders, client_sync_merge_flags. Each safety
 * case checks the action the rule forbids is absent AND the one it asks for is there,
 * so a planner without the rule fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/client_maildir.h"
#include "client/client_sync.h"
#include "core/err.h"

#define SEEN CLIENT_FLAG_SEEN
#define FLAGGED CLIENT_FLAG_FLAGGED
#define REPLIED CLIENT_FLAG_REPLIED
#define DRAFT CLIENT_FLAG_DRAFT

#define ROW(u, b, fl, id) {.uid = (u), .base = (b), .flags = (fl), .keywords = "", \
			   .msgid = (id), .sha256 = "", .size = 100}
#define LOC(b, fl) {.base = (b), .flags = (fl), .ctime = 1000}
#define REM(u, fl, id) {.uid = (u), .flags = (fl), .keywords = "", .msgid = (id), \
			.size = 100, .sha256 = ""}

/* A folder known to the state, present on both sides, UIDVALIDITY 7, UIDNEXT 10. */
static struct client_sync_folder sync_folder(const struct client_sync_row *rows, size_t nrows,
					     const struct client_sync_local *local, size_t nlocal,
					     const struct client_sync_remote *remote,
					     size_t nremote)
{
	return (struct client_sync_folder){
		.name = "Archive", .state_known = true, .state_uidvalidity = 7,
		.state_uidnext = 10, .rows = rows, .nrows = nrows, .local_exists = true,
		.local = local, .nlocal = nlocal, .remote_exists = true, .remote_listed = true,
		.remote_uidvalidity = 7, .remote_uidnext = 10, .remote = remote,
		.nremote = nremote, .remote_time = 2000};
}

static struct client_sync_plan plan_of(const struct client_sync_folder *f, struct arena *a)
{
	struct client_sync_plan p;
	assert_int_equal(client_sync_plan_msgs(f, a, &p), 0);
	return p;
}

/* The number of actions of this kind, and the first one of them in *act_out. */
static size_t count_kind(const struct client_sync_plan *p, enum client_sync_act_kind kind,
			 const struct client_sync_action **act_out)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nacts; i++)
		if (p->acts[i].kind == kind) {
			if (n++ == 0 && act_out)
				*act_out = &p->acts[i];
		}
	return n;
}

/* R1: a UID without a row is downloaded, a file without a row uploaded with its flags. */
static void r1_new_both_ways(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", SEEN, "<1@x>")};
	struct client_sync_local loc[] = {LOC("b1", SEEN), LOC("new-local", FLAGGED)};
	struct client_sync_remote rem[] = {REM(1, SEEN, ""), REM(11, 0, "<2@x>")};
	struct client_sync_folder f = sync_folder(rows, 1, loc, 2, rem, 2);
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_NORMAL);
	assert_int_equal(p.nacts, 2);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, &act), 1);
	assert_int_equal(act->remote, 1);
	assert_int_equal(act->row, CLIENT_SYNC_NONE);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, &act), 1);
	assert_int_equal(act->local, 1);
	assert_int_equal(act->flags, FLAGGED);
	arena_free(&a);
}

/* R1: an upload whose UID never came back (no UIDPLUS, or a crash after APPEND) is
 * found by Message-ID and size, neither uploaded nor downloaded again. */
static void r1_pending_upload_relinked(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(0, "up1", SEEN, "<u1@x>"),
					 ROW(0, "up2", 0, "<u2@x>"),
					 ROW(0, "gone", 0, "<u3@x>")};
	struct client_sync_local loc[] = {LOC("up1", SEEN), LOC("up2", 0)};
	struct client_sync_remote rem[] = {REM(12, SEEN, "<u1@x>")};
	struct client_sync_folder f = sync_folder(rows, 3, loc, 2, rem, 1);
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(count_kind(&p, CLIENT_SYNC_RELINK, &act), 1);
	assert_int_equal(act->row, 0);
	assert_int_equal(act->remote, 0);
	assert_ptr_equal(act, &p.acts[0]); /* before anything uses the row's UID */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, NULL), 0);
	/* the one the server does not have is sent again on its row; the one gone on both
	 * sides is forgotten */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, &act), 1);
	assert_int_equal(act->row, 1);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FORGET, &act), 1);
	assert_int_equal(act->row, 2);
	assert_int_equal(p.nacts, 3);
	arena_free(&a);
}

/* R2: a change on one side is applied on the other; the row records the result. */
static void r2_flags_one_side(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", 0, ""), ROW(2, "b2", SEEN, ""),
					 ROW(3, "b3", SEEN, "")};
	struct client_sync_local loc[] = {LOC("b1", SEEN | FLAGGED), LOC("b2", SEEN),
					  LOC("b3", SEEN)};
	struct client_sync_remote rem[] = {REM(1, 0, ""), REM(2, REPLIED, ""), REM(3, SEEN, "")};
	struct client_sync_folder f = sync_folder(rows, 3, loc, 3, rem, 3);
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FLAGS_REMOTE, &act), 1);
	assert_int_equal(act->row, 0);
	assert_int_equal(act->add, SEEN | FLAGGED);
	assert_int_equal(act->del, 0);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FLAGS_LOCAL, &act), 1);
	assert_int_equal(act->row, 1);
	assert_int_equal(act->flags, REPLIED);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPDATE_ROW, NULL), 2);
	assert_int_equal(p.nacts, 4); /* nothing for the unchanged third */
	arena_free(&a);
}

/* R3: union of additions; a removal stands only when its side changed last. */
static void r3_merge(void **state)
{
	/* adds from both sides */
	assert_int_equal(client_sync_merge_flags(0, SEEN, 5, FLAGGED, 6), SEEN | FLAGGED);
	/* local removed \Seen at 9, the server added \Flagged (seen at 6): local newer */
	assert_int_equal(client_sync_merge_flags(SEEN, 0, 9, SEEN | FLAGGED, 6), FLAGGED);
	/* the same, the server's change newer: \Seen stays */
	assert_int_equal(client_sync_merge_flags(SEEN, 0, 5, SEEN | FLAGGED, 6), SEEN | FLAGGED);
	/* the server removed, local added: the newer removal wins, an older one does not */
	assert_int_equal(client_sync_merge_flags(SEEN, SEEN | DRAFT, 5, 0, 6), DRAFT);
	assert_int_equal(client_sync_merge_flags(SEEN, SEEN | DRAFT, 7, 0, 6), SEEN | DRAFT);
	/* equal times keep the flag; removed on both sides: gone */
	assert_int_equal(client_sync_merge_flags(SEEN, DRAFT, 6, SEEN | REPLIED, 6),
			 SEEN | DRAFT | REPLIED);
	assert_int_equal(client_sync_merge_flags(SEEN | FLAGGED, FLAGGED, 1, REPLIED, 9),
			 REPLIED);
	/* one side unchanged: the other side, whatever the times */
	assert_int_equal(client_sync_merge_flags(SEEN, SEEN, 99, 0, 1), 0);
	assert_int_equal(client_sync_merge_flags(SEEN, 0, 1, SEEN, 99), 0);

	/* in a plan: both changed, the result goes to both sides */
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", SEEN, "")};
	struct client_sync_local loc[] = {{.base = "b1", .flags = FLAGGED, .ctime = 3000}};
	struct client_sync_remote rem[] = {REM(1, SEEN | REPLIED, "")};
	struct client_sync_folder f = sync_folder(rows, 1, loc, 1, rem, 1); /* remote 2000 */
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FLAGS_LOCAL, &act), 1);
	assert_int_equal(act->flags, FLAGGED | REPLIED);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FLAGS_REMOTE, &act), 1);
	assert_int_equal(act->add, FLAGGED);
	assert_int_equal(act->del, SEEN);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPDATE_ROW, &act), 1);
	assert_int_equal(act->flags, FLAGGED | REPLIED);
	arena_free(&a);
}

/* R4: deleted on one side, deleted on the other; on both, the row goes; a deletion cut
 * short is resumed. */
static void r4_deletions(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", 0, ""), ROW(2, "b2", 0, ""),
					 ROW(3, "b3", 0, ""), ROW(4, "b4", 0, ""),
					 ROW(5, "b5", 0, "")};
	rows[3].deleting = true;
	struct client_sync_local loc[] = {LOC("b2", 0), LOC("b5", 0)};
	struct client_sync_remote rem[] = {REM(1, 0, ""), REM(4, 0, ""), REM(5, 0, "")};
	struct client_sync_folder f = sync_folder(rows, 5, loc, 2, rem, 3);
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_NORMAL);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, &act), 2);
	assert_int_equal(act->row, 0); /* gone locally */
	assert_int_equal(p.acts[3].kind, CLIENT_SYNC_DELETE_REMOTE);
	assert_int_equal(p.acts[3].row, 3); /* resumed */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_LOCAL, &act), 1);
	assert_int_equal(act->row, 1); /* expunged on the server */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FORGET, &act), 1);
	assert_int_equal(act->row, 2);
	assert_int_equal(p.nacts, 4);
	arena_free(&a);
}

/* R5: keywords changed on the server reach the row (Maildir has no place for them). */
static void r5_keywords(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", SEEN, "")};
	struct client_sync_local loc[] = {LOC("b1", SEEN)};
	struct client_sync_remote rem[] = {REM(1, SEEN, "")};
	rem[0].keywords = "$Label1 Work";
	struct client_sync_folder f = sync_folder(rows, 1, loc, 1, rem, 1);
	struct client_sync_plan p = plan_of(&f, &a);
	assert_int_equal(p.nacts, 1);
	assert_int_equal(p.acts[0].kind, CLIENT_SYNC_UPDATE_ROW);
	assert_int_equal(p.acts[0].flags, SEEN);
	arena_free(&a);
}

/* S1: a local folder with none of its files (directory gone, or emptied) deletes
 * nothing on the server; its messages come down again. */
static void s1_local_folder_lost(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", SEEN, ""), ROW(2, "b2", 0, ""),
					 ROW(3, "b3", 0, "")};
	struct client_sync_remote rem[] = {REM(1, SEEN, ""), REM(2, 0, "")};
	for (int missing = 0; missing < 2; missing++) {
		struct client_sync_folder f = sync_folder(rows, 3, NULL, 0, rem, 2);
		f.local_exists = !missing; /* emptied, then removed */
		struct client_sync_plan p = plan_of(&f, &a);
		const struct client_sync_action *act = NULL;
		assert_int_equal(p.mode, CLIENT_SYNC_MODE_LOCAL_LOST);
		assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, NULL), 0);
		assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, &act), 2);
		assert_int_equal(act->row, 0); /* onto the same row: no duplicate row */
		assert_int_equal(act->flags, SEEN);
		assert_int_equal(count_kind(&p, CLIENT_SYNC_FORGET, &act), 1);
		assert_int_equal(act->row, 2);
	}
	/* A new file beside none of the old ones is no proof of a deliberate deletion. */
	struct client_sync_local loc[] = {LOC("fresh", 0)};
	struct client_sync_folder f = sync_folder(rows, 3, loc, 1, rem, 2);
	struct client_sync_plan p = plan_of(&f, &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_LOCAL_LOST);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, NULL), 0);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, NULL), 1);
	/* One file left: the others were deleted on purpose (R4). */
	struct client_sync_local one[] = {LOC("b1", SEEN)};
	f = sync_folder(rows, 3, one, 1, rem, 2);
	p = plan_of(&f, &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_NORMAL);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, NULL), 1);
	arena_free(&a);
}

/* S1 with renumbered UIDs as well: nothing to keep locally, nothing deleted remotely;
 * the old rows go and every server message comes down once. */
static void s1_lost_and_renumbered(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", 0, "<1@x>"), ROW(2, "b2", 0, "<2@x>")};
	struct client_sync_remote rem[] = {REM(1, 0, "<1@x>"), REM(2, 0, "<2@x>")};
	struct client_sync_folder f = sync_folder(rows, 2, NULL, 0, rem, 2);
	f.local_exists = false;
	f.remote_uidvalidity = 99;
	struct client_sync_plan p = plan_of(&f, &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_LOCAL_LOST);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FORGET, NULL), 2);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, NULL), 2);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, NULL), 0);
	assert_int_equal(p.nacts, 4);
	arena_free(&a);
}

/* S2: same UIDVALIDITY, smaller UIDNEXT: the server contradicts itself; nothing is done
 * in that folder. An empty folder with a UIDNEXT that held is an expunge-all. */
static void s2_server_contradicts(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", 0, ""), ROW(2, "b2", 0, "")};
	struct client_sync_local loc[] = {LOC("b1", 0), LOC("b2", 0), LOC("new", 0)};
	struct client_sync_folder f = sync_folder(rows, 2, loc, 3, NULL, 0);
	f.remote_uidnext = 1;
	struct client_sync_plan p = plan_of(&f, &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_SKIP);
	assert_int_equal(p.nacts, 0);
	f.remote_uidnext = 10;
	p = plan_of(&f, &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_NORMAL);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_LOCAL, NULL), 2);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, NULL), 1);
	arena_free(&a);
}

/* S3: a folder deleted on the server: the local copies of what it held go, a message
 * the server never had is uploaded (the executor creates the folder for it); nothing
 * is deleted on the server. */
static void s3_remote_folder_gone(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", 0, ""), ROW(2, "b2", 0, "")};
	struct client_sync_local loc[] = {LOC("b1", 0), LOC("only-here", SEEN)};
	struct client_sync_folder f = sync_folder(rows, 2, loc, 2, NULL, 0);
	f.remote_exists = f.remote_listed = false;
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_REMOTE_GONE);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_LOCAL, &act), 1);
	assert_int_equal(act->row, 0);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FORGET, NULL), 1);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, &act), 1);
	assert_int_equal(act->local, 1);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, NULL), 0);

	/* and the folder level: a folder gone locally is never deleted on the server, it
	 * is made again locally (S1); gone on both sides, it is forgotten */
	struct client_sync_folder tree[3] = {
		sync_folder(rows, 2, NULL, 0, NULL, 0),
		sync_folder(rows, 2, NULL, 0, NULL, 0),
		sync_folder(rows, 2, loc, 2, NULL, 0),
	};
	tree[0].name = "Lost";
	tree[0].local_exists = false;
	tree[1].name = "Both-gone";
	tree[1].local_exists = tree[1].remote_exists = false;
	tree[2].name = "Server-gone";
	tree[2].remote_exists = false;
	struct client_sync_folder_action *fa;
	size_t nfa;
	assert_int_equal(client_sync_plan_folders(tree, 3, &a, &fa, &nfa), 0);
	assert_int_equal(nfa, 2);
	assert_int_equal(fa[0].kind, CLIENT_SYNC_FOLDER_CREATE_LOCAL);
	assert_int_equal(fa[0].folder, 0);
	assert_int_equal(fa[1].kind, CLIENT_SYNC_FOLDER_FORGET);
	assert_int_equal(fa[1].folder, 1);
	arena_free(&a);
}

/* R6: a folder on one side only and unknown to the state is made on the other; INBOX
 * is never made, renamed or forgotten. */
static void r6_new_folders(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_local loc[] = {LOC("x", 0)};
	struct client_sync_folder tree[4] = {
		{.name = "Local-new", .local_exists = true, .local = loc, .nlocal = 1},
		{.name = "Server-new", .remote_exists = true, .remote_uidvalidity = 5},
		{.name = "Both", .local_exists = true, .remote_exists = true},
		{.name = "INBOX", .state_known = true},
	};
	struct client_sync_folder_action *fa;
	size_t nfa;
	assert_int_equal(client_sync_plan_folders(tree, 4, &a, &fa, &nfa), 0);
	assert_int_equal(nfa, 2);
	assert_int_equal(fa[0].kind, CLIENT_SYNC_FOLDER_CREATE_REMOTE);
	assert_int_equal(fa[0].folder, 0);
	assert_int_equal(fa[1].kind, CLIENT_SYNC_FOLDER_CREATE_LOCAL);
	assert_int_equal(fa[1].folder, 1);
	arena_free(&a);
}

/* R7: a file another mail program moved from Archive to Work is moved on the server;
 * Work does not upload it; a base found in two other folders is no move. */
static void r7_moved_between_folders(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row arows[] = {ROW(1, "m1", SEEN, "<m1@x>"), ROW(2, "m2", 0, ""),
					  ROW(3, "m3", 0, "")};
	struct client_sync_local aloc[] = {LOC("m2", 0)};
	struct client_sync_remote arem[] = {REM(1, SEEN, ""), REM(2, 0, ""), REM(3, 0, "")};
	struct client_sync_local wloc[] = {LOC("m1", SEEN), LOC("m3", 0)};
	struct client_sync_local tloc[] = {LOC("m3", 0)};
	struct client_sync_folder tree[3] = {
		sync_folder(arows, 3, aloc, 1, arem, 3),
		sync_folder(NULL, 0, wloc, 2, NULL, 0),
		sync_folder(NULL, 0, tloc, 1, NULL, 0),
	};
	tree[1].name = "Work";
	tree[2].name = "Trash";
	assert_int_equal(client_sync_find_moves(tree, 3, &a), 0);
	assert_int_equal(tree[0].moved_to[0], 1);
	assert_int_equal(tree[0].moved_to[1], CLIENT_SYNC_NONE);
	assert_int_equal(tree[0].moved_to[2], CLIENT_SYNC_NONE); /* in Work and Trash */
	assert_true(tree[1].moved_in[0]);
	assert_false(tree[1].moved_in[1]);

	struct client_sync_plan p = plan_of(&tree[0], &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(count_kind(&p, CLIENT_SYNC_MOVE_REMOTE, &act), 1);
	assert_int_equal(act->row, 0);
	assert_int_equal(act->remote, 0);
	assert_int_equal(act->to, 1);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, &act), 1);
	assert_int_equal(act->row, 2);
	p = plan_of(&tree[1], &a);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, &act), 1);
	assert_int_equal(act->local, 1); /* m3, not the moved m1 */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, NULL), 0);

	/* a folder whose every file moved away is not "lost" (S1 counts no moved rows) */
	struct client_sync_row one[] = {ROW(1, "m1", SEEN, "")};
	struct client_sync_folder t2[2] = {sync_folder(one, 1, NULL, 0, arem, 1),
					   sync_folder(NULL, 0, wloc, 1, NULL, 0)};
	t2[1].name = "Work";
	assert_int_equal(client_sync_find_moves(t2, 2, &a), 0);
	p = plan_of(&t2[0], &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_NORMAL);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_MOVE_REMOTE, NULL), 1);
	assert_int_equal(p.nacts, 1);
	arena_free(&a);
}

/* R8: renamed locally (state folder gone, its files in one new folder): RENAME on the
 * server; renamed on the server (gone from LIST, a new name with its UIDVALIDITY):
 * renamed locally. Neither target is also created. */
static void r8_renames(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "r1", 0, ""), ROW(2, "r2", 0, ""),
					 ROW(3, "r3", 0, "")};
	struct client_sync_local moved[] = {LOC("r1", 0), LOC("r2", 0)};
	struct client_sync_local kept[] = {LOC("k1", 0)};
	struct client_sync_row krows[] = {ROW(1, "k1", 0, "")};
	struct client_sync_folder tree[5] = {
		sync_folder(rows, 3, NULL, 0, NULL, 0),
		{.name = "New-local", .local_exists = true, .local = moved, .nlocal = 2},
		sync_folder(krows, 1, kept, 1, NULL, 0),
		{.name = "New-remote", .remote_exists = true, .remote_uidvalidity = 42},
		{.name = "Other-remote", .remote_exists = true, .remote_uidvalidity = 43},
	};
	tree[0].name = "Old-local";
	tree[0].local_exists = false;
	tree[2].name = "Old-remote";
	tree[2].remote_exists = false;
	tree[2].state_uidvalidity = 42;
	struct client_sync_folder_action *fa;
	size_t nfa;
	assert_int_equal(client_sync_plan_folders(tree, 5, &a, &fa, &nfa), 0);
	assert_int_equal(nfa, 3);
	assert_int_equal(fa[0].kind, CLIENT_SYNC_FOLDER_RENAME_REMOTE);
	assert_int_equal(fa[0].folder, 0);
	assert_int_equal(fa[0].to, 1);
	assert_int_equal(fa[1].kind, CLIENT_SYNC_FOLDER_RENAME_LOCAL);
	assert_int_equal(fa[1].folder, 2);
	assert_int_equal(fa[1].to, 3);
	assert_int_equal(fa[2].kind, CLIENT_SYNC_FOLDER_CREATE_LOCAL);
	assert_int_equal(fa[2].folder, 4);
	arena_free(&a);
}

/* R9: UIDVALIDITY changed: rows re-matched by Message-ID and size (SHA-256 without one),
 * one to one; local changes kept; unmatched rows with a file uploaded again; unmatched
 * server messages downloaded. */
static void r9_uidvalidity_change(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {
		ROW(1, "a", 0, "<a@x>"),     /* matched, flagged locally since */
		ROW(2, "b", SEEN, "<b@x>"),  /* matched, deleted locally since */
		ROW(3, "c", 0, "<dup@x>"),   /* two copies of one message */
		ROW(4, "d", 0, "<dup@x>"),
		ROW(5, "e", 0, "<e@x>"),     /* lost by the server: uploaded again */
		ROW(6, "f", 0, ""),          /* no Message-ID: by content */
	};
	rows[5].sha256 = "ab12";
	struct client_sync_local loc[] = {LOC("a", FLAGGED), LOC("c", 0), LOC("d", 0),
					  LOC("e", 0), LOC("f", 0)};
	struct client_sync_remote rem[] = {
		REM(100, 0, "<a@x>"), REM(101, SEEN, "<b@x>"), REM(102, 0, "<dup@x>"),
		REM(103, 0, "<dup@x>"), REM(104, 0, ""), REM(105, 0, "<new@x>"),
		REM(106, 0, "<a@x>"), /* a second <a@x> of another size: not a match */
	};
	rem[4].sha256 = "ab12";
	rem[6].size = 999;
	struct client_sync_folder f = sync_folder(rows, 6, loc, 5, rem, 7);
	f.remote_uidvalidity = 8;
	f.remote_uidnext = 107;
	struct client_sync_plan p = plan_of(&f, &a);
	assert_int_equal(p.mode, CLIENT_SYNC_MODE_REMATCH);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_RELINK, NULL), 5);
	size_t want_remote[] = {0, 1, 2, 3, CLIENT_SYNC_NONE, 4};
	for (size_t i = 0; i < p.nacts; i++)
		if (p.acts[i].kind == CLIENT_SYNC_RELINK)
			assert_int_equal(p.acts[i].remote, want_remote[p.acts[i].row]);
	const struct client_sync_action *act = NULL;
	assert_int_equal(count_kind(&p, CLIENT_SYNC_FLAGS_REMOTE, &act), 1);
	assert_int_equal(act->row, 0);
	assert_int_equal(act->add, FLAGGED);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, &act), 1);
	assert_int_equal(act->row, 1);
	assert_int_equal(act->remote, 1);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, &act), 1);
	assert_int_equal(act->row, 4);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, NULL), 2); /* 105, 106 */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_LOCAL, NULL), 0);
	arena_free(&a);
}

/* A download cut short is fetched again onto its row, never taken for a local
 * deletion; one whose file made it is kept (not uploaded as new, not fetched twice). */
static void resumed_download(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct client_sync_row rows[] = {ROW(1, "b1", 0, ""), ROW(2, "", 0, ""),
					 ROW(3, "b3", 0, ""), ROW(4, "b4", 0, "")};
	rows[2].fetching = rows[3].fetching = true;
	struct client_sync_local loc[] = {LOC("b1", 0), LOC("b4", 0)};
	struct client_sync_remote rem[] = {REM(1, 0, ""), REM(2, SEEN, ""), REM(3, 0, ""),
					   REM(4, 0, "")};
	struct client_sync_folder f = sync_folder(rows, 4, loc, 2, rem, 4);
	struct client_sync_plan p = plan_of(&f, &a);
	const struct client_sync_action *act = NULL;
	assert_int_equal(p.nacts, 3);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DOWNLOAD, &act), 2);
	assert_int_equal(act->row, 1);
	assert_int_equal(act->flags, SEEN);
	assert_int_equal(p.acts[1].kind, CLIENT_SYNC_DOWNLOAD);
	assert_int_equal(p.acts[1].row, 2);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPDATE_ROW, &act), 1);
	assert_int_equal(act->row, 3); /* clears fetching */
	assert_int_equal(count_kind(&p, CLIENT_SYNC_DELETE_REMOTE, NULL), 0);
	assert_int_equal(count_kind(&p, CLIENT_SYNC_UPLOAD, NULL), 0);
	arena_free(&a);
}

/* 10,000 messages, nothing changed: no action, and no quadratic work (the cmocka
 * timeout would catch a scan of every row per message). */
static void no_change_pass_is_empty(void **state)
{
	enum { N = 10000 };
	struct arena a;
	arena_init(&a, 16u << 20);
	struct client_sync_row *rows = arena_alloc(&a, N * sizeof(*rows));
	struct client_sync_local *loc = arena_alloc(&a, N * sizeof(*loc));
	struct client_sync_remote *rem = arena_alloc(&a, N * sizeof(*rem));
	assert_non_null(rows);
	for (uint32_t i = 0; i < N; i++) {
		char *b = arena_printf(&a, "base%u", (N - i) * 7919u % 100003u);
		rows[i] = (struct client_sync_row)ROW(i + 1, b, SEEN, "");
		loc[N - 1 - i] = (struct client_sync_local)LOC(b, SEEN);
		rem[i] = (struct client_sync_remote)REM(N - i, SEEN, "");
	}
	struct client_sync_folder f = sync_folder(rows, N, loc, N, rem, N);
	f.state_uidnext = f.remote_uidnext = N + 1;
	struct client_sync_plan p = plan_of(&f, &a);
	assert_int_equal(p.nacts, 0);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(r1_new_both_ways),
		cmocka_unit_test(r1_pending_upload_relinked),
		cmocka_unit_test(r2_flags_one_side),
		cmocka_unit_test(r3_merge),
		cmocka_unit_test(r4_deletions),
		cmocka_unit_test(r5_keywords),
		cmocka_unit_test(s1_local_folder_lost),
		cmocka_unit_test(s1_lost_and_renumbered),
		cmocka_unit_test(s2_server_contradicts),
		cmocka_unit_test(s3_remote_folder_gone),
		cmocka_unit_test(r6_new_folders),
		cmocka_unit_test(r7_moved_between_folders),
		cmocka_unit_test(r8_renames),
		cmocka_unit_test(r9_uidvalidity_change),
		cmocka_unit_test(resumed_download),
		cmocka_unit_test(no_change_pass_is_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
