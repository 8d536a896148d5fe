"""IMAP commands that change the mailbox tree against a real `kasten serve`: CREATE
(RFC 9051 6.3.4) with CREATE-SPECIAL-USE (RFC 6154 3), DELETE (6.3.5), RENAME (6.3.6,
INBOX's special case), SUBSCRIBE and UNSUBSCRIBE (6.3.7, 6.3.8) of names that need no
mailbox, which DELETE leaves subscribed (RFC 3501 6.3.6) and RENAME takes along; mailbox
names in modified UTF-7 (RFC 3501 5.1.3) and UTF-8 (RFC 9051 5.1, RFC 6855); names that
would reach outside the account; the mailbox and subscription limits; durability of
every change before its OK. How LIST and LSUB show subscriptions is test_imap_list.py's.

Raw sockets (RawIMAP) throughout: the answers are compared byte for byte."""

import re

import pytest

from kasten_test import RawIMAP, deliver, make_message, unique_user

KASTEN_LISTEN = ("smtp", "lmtp", "imap", "imaps")
PASSWORD = "Mailbox-pass-123"
LIMIT_MAILBOXES = 1000        # src/core/limits.h
LIMIT_MAILBOX_NAME = 512
LIMIT_SUBSCRIPTIONS = 2000
DEFAULT_MAILBOXES = 6         # INBOX Drafts Sent Trash Junk Archive


def account(server, prefix="m"):
    a = unique_user(prefix)
    server.user_add(a, PASSWORD)
    return a


def logged_in(server, address):
    c = RawIMAP(*server.addr("imap"))
    c.login(address, PASSWORD)
    return c


def ok(c, command):
    status, untagged = c.cmd(command)
    assert re.match(rb"a\d+ OK ", status), (command, status)
    return untagged


def tree(c):
    """{name: attributes} from LIST "" "*" (names as sent, attributes as a set)."""
    out = {}
    for line in ok(c, 'LIST "" "*"'):
        m = re.fullmatch(rb'\* LIST \(([^)]*)\) "/" (.+)', line)
        assert m, line
        out[m.group(2)] = set(m.group(1).split())
    return out


def lsub(c, pattern="*"):
    """The subscribed names LSUB "" pattern gives, in the order sent."""
    return [re.fullmatch(rb'\* LSUB \([^)]*\) "/" (.+)', l).group(1)
            for l in ok(c, f'LSUB "" "{pattern}"')]


def status(c, name, items="MESSAGES UIDVALIDITY"):
    lines = [l for l in ok(c, f"STATUS {name} ({items})") if l.startswith(b"* STATUS ")]
    assert len(lines) == 1, lines
    return {k.decode(): int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", lines[0])}


def fill(server, address, n, subject="mb"):
    for i in range(n):
        deliver(server, address, make_message(f"{subject} {i}"))
    assert len(server.wait_messages(address, n)) == n


# ---- CREATE ----

def test_create_makes_the_levels_above(mserver):
    c = logged_in(mserver, account(mserver))
    assert c.cmd("CREATE a/b/c")[0] == b"a2 OK CREATE completed"
    t = tree(c)
    # RFC 9051 6.3.4: "a" and "a/b" are created too; here they are mailboxes
    assert t[b"a"] == {b"\\HasChildren"}
    assert t[b"a/b"] == {b"\\HasChildren"}
    assert t[b"a/b/c"] == {b"\\HasNoChildren"}
    for name in ("a", "a/b"):
        assert status(c, name)["MESSAGES"] == 0


def test_create_drops_a_trailing_delimiter(mserver):
    c = logged_in(mserver, account(mserver))
    # RFC 9051 6.3.4: "the name created is without the trailing hierarchy delimiter"
    assert c.cmd("CREATE folder/")[0] == b"a2 OK CREATE completed"
    t = tree(c)
    assert b"folder" in t and b"folder/" not in t
    assert c.cmd('CREATE "/"')[0] == b"a4 NO [CANNOT] Invalid mailbox name"


def test_create_existing_is_alreadyexists(mserver):
    c = logged_in(mserver, account(mserver))
    assert c.cmd("CREATE Work")[0] == b"a2 OK CREATE completed"
    assert c.cmd("CREATE Work")[0] == b"a3 NO [ALREADYEXISTS] Mailbox already exists"
    # INBOX in any case is INBOX (RFC 9051 5.1)
    assert c.cmd("CREATE inbox")[0] == b"a4 NO [ALREADYEXISTS] Mailbox already exists"
    assert c.cmd("CREATE INBOX")[0] == b"a5 NO [ALREADYEXISTS] Mailbox already exists"
    # other names are case-sensitive
    assert c.cmd("CREATE work")[0] == b"a6 OK CREATE completed"


def test_create_special_use(mserver):
    c = logged_in(mserver, account(mserver))
    assert c.cmd("CREATE Entwurf (USE (\\Drafts))")[0] == b"a2 OK CREATE completed"
    assert c.cmd("CREATE Old (USE (\\Archive \\Junk))")[0] == b"a3 OK CREATE completed"
    _, lines = c.cmd('LIST "" ("Entwurf" "Old") RETURN (SPECIAL-USE)')
    assert sorted(lines) == [b'* LIST (\\Archive \\Junk) "/" Old',
                             b'* LIST (\\Drafts) "/" Entwurf']
    # RFC 6154 3: a use the server cannot give is NO [USEATTR], and nothing is created
    status_, _ = c.cmd("CREATE Everything (USE (\\All))")
    assert status_ == b"a5 NO [USEATTR] \\All and \\Flagged are not supported as mailboxes"
    status_, _ = c.cmd("CREATE Unknown (USE (\\Whatever))")
    assert status_.startswith(b"a6 NO [USEATTR] ")
    t = tree(c)
    assert b"Everything" not in t and b"Unknown" not in t
    assert c.cmd("CREATE Bad (FOO (\\Drafts))")[0].startswith(b"a8 BAD ")


# ---- names that are no names ----

# Every one of these is refused by every command; none reaches a file name.
BAD_NAMES = ['".."', '"../x"', '"a/../b"', '"a/./b"', '"."', '"/abs"', '"a//b"',
             '"x/"',  # (CREATE drops one trailing "/"; the others take it as a name)
             '"a*b"', '"a%b"', '""']
LITERAL_NAMES = [b"a\x01b", b"a\x7fb", b"a\x00b", b"a\tb", b"a\r\nb", b"\xc2\x85x"]


def test_names_outside_the_account_are_refused(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    before, subscribed = tree(c), lsub(c)
    for name in BAD_NAMES:
        for command in (f"CREATE {name}", f"DELETE {name}", f"RENAME {name} Elsewhere",
                        f"RENAME INBOX {name}", f"SUBSCRIBE {name}", f"STATUS {name} (MESSAGES)",
                        f"GETQUOTAROOT {name}"):
            if command.startswith('CREATE "x/"'):
                continue  # a valid declaration of children (6.3.4)
            status_, _ = c.cmd(command)
            assert re.match(rb"a\d+ (NO \[CANNOT\] Invalid mailbox name|NO \[NONEXISTENT\]"
                            rb"|BAD )", status_), (command, status_)
    for raw in LITERAL_NAMES:
        # control characters travel only in literals; the name check refuses them
        c.send(b"L1 CREATE {%d+}\r\n%s\r\n" % (len(raw), raw))
        status_, _ = c.until("L1")
        assert status_ in (b"L1 NO [CANNOT] Invalid mailbox name",
                           b"L1 BAD Mailbox name is not valid modified UTF-7"), (raw, status_)
    # a quoted string with a control character is refused by the parser itself
    status_, _ = c.cmd(b'CREATE "a\x01b"')
    assert status_.endswith(b"BAD Invalid character in quoted string") or b" BAD " in status_
    after = tree(c)
    assert after == before
    assert lsub(c) == subscribed


def test_too_long_names(mserver):
    c = logged_in(mserver, account(mserver))
    at = "n" * LIMIT_MAILBOX_NAME
    assert c.cmd(f"CREATE {at}")[0] == b"a2 OK CREATE completed"
    assert c.cmd(f"CREATE {at}x")[0] == b"a3 NO [CANNOT] Invalid mailbox name"
    # a rename that would push a child's name past the limit renames nothing
    ok(c, "CREATE p/" + "c" * (LIMIT_MAILBOX_NAME - 2))
    status_, _ = c.cmd("RENAME p pp")
    assert status_ == b"a5 NO [CANNOT] A mailbox name would be longer than 512 octets"
    assert b"p" in tree(c)


# ---- DELETE ----

def test_delete(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    ok(c, "CREATE Gone")
    assert c.cmd("DELETE Gone")[0] == b"a3 OK DELETE completed"
    assert b"Gone" not in tree(c)
    assert c.cmd("DELETE Gone")[0] == b"a5 NO [NONEXISTENT] No such mailbox"
    # RFC 9051 6.3.5: INBOX cannot be deleted
    assert c.cmd("DELETE INBOX")[0] == b"a6 NO [CANNOT] INBOX cannot be deleted"
    assert c.cmd("DELETE inbox")[0] == b"a7 NO [CANNOT] INBOX cannot be deleted"


def test_delete_removes_the_messages_and_keeps_uids_unique(mserver):
    a = account(mserver)
    fill(mserver, a, 1)
    c = logged_in(mserver, a)
    ok(c, "RENAME INBOX Box")  # INBOX's message moves to Box (6.3.6)
    before = status(c, "Box", "MESSAGES UIDVALIDITY UIDNEXT")
    assert before["MESSAGES"] == 1
    ok(c, "DELETE Box")
    ok(c, "CREATE Box")
    after = status(c, "Box", "MESSAGES UIDVALIDITY UIDNEXT")
    # RFC 9051 6.3.5: a new mailbox of the same name never reuses the old UIDs: new
    # UIDVALIDITY
    assert after["MESSAGES"] == 0
    assert after["UIDVALIDITY"] != before["UIDVALIDITY"]


def test_delete_with_children_leaves_a_noselect_level(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    ok(c, "CREATE top/child")
    assert c.cmd("DELETE top")[0] == b"a3 OK DELETE completed"
    # RFC 9051 6.3.5: the children stay; the name is \Noselect (rev1)
    t = tree(c)
    assert t[b"top"] == {b"\\Noselect", b"\\HasChildren"}
    assert t[b"top/child"] == {b"\\HasNoChildren"}
    # a \Noselect name with children cannot be deleted
    assert c.cmd("DELETE top")[0] == (b"a5 NO [HASCHILDREN] No mailbox of that name, only "
                                      b"mailboxes below it")
    assert c.cmd("SELECT top")[0] == b"a6 NO [NONEXISTENT] No such mailbox"
    assert c.cmd("STATUS top (MESSAGES)")[0] == b"a7 NO [NONEXISTENT] No such mailbox"
    # IMAP4rev2 and extended LISTs say \NonExistent (RFC 9051 7.3.1)
    _, lines = c.cmd('LIST () "" "top"')
    assert lines == [b'* LIST (\\NonExistent) "/" top']
    # once the children are gone, so is the name; it can be made a mailbox again
    ok(c, "DELETE top/child")
    assert b"top" not in tree(c)
    ok(c, "CREATE top/child")
    ok(c, "DELETE top")
    assert c.cmd("CREATE top")[0].endswith(b"OK CREATE completed")
    assert tree(c)[b"top"] == {b"\\HasChildren"}


def test_delete_of_the_selected_mailbox_closes_it(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    other = logged_in(mserver, a)
    ok(c, "CREATE Doomed")
    ok(c, "SELECT Doomed")
    ok(other, "SELECT Doomed")
    other.send(b"i1 IDLE\r\n")  # told at once, whichever loop thread it is on
    assert other.response() == b"+ idling"
    status_, untagged = c.cmd("DELETE Doomed")
    assert untagged == [b"* OK [CLOSED] The selected mailbox is deleted"]
    assert status_ == b"a4 OK DELETE completed"
    assert c.cmd("CLOSE")[0] == b"a5 BAD Select a mailbox first"
    ok(c, "SELECT INBOX")
    # RFC 9051 7.1.5: another session with it selected is told it is gone
    assert other.response() == b"* BYE [NONEXISTENT] The selected mailbox was deleted"


# ---- RENAME ----

def test_rename_keeps_uidvalidity_messages_and_subscription(mserver):
    a = account(mserver)
    fill(mserver, a, 1)
    c = logged_in(mserver, a)
    ok(c, "RENAME INBOX Old")  # a mailbox with a message in it
    ok(c, "CREATE Old/Sub")
    ok(c, "SUBSCRIBE Old/Sub")
    before = status(c, "Old", "MESSAGES UIDVALIDITY UIDNEXT")
    assert before["MESSAGES"] == 1
    sub_before = status(c, "Old/Sub", "UIDVALIDITY")
    assert c.cmd("RENAME Old New")[0] == b"a7 OK RENAME completed"
    t = tree(c)
    assert b"Old" not in t and b"Old/Sub" not in t
    # RFC 9051 6.3.6: the levels below go along; UIDVALIDITY stays with the mailbox
    assert t[b"New"] == {b"\\HasChildren"} and t[b"New/Sub"] == {b"\\HasNoChildren"}
    assert status(c, "New", "MESSAGES UIDVALIDITY UIDNEXT") == before
    assert status(c, "New/Sub", "UIDVALIDITY") == sub_before
    _, lines = c.cmd('LSUB "" "New*"')
    assert lines == [b'* LSUB () "/" New/Sub']


def test_rename_errors(mserver):
    c = logged_in(mserver, account(mserver))
    ok(c, "CREATE A")
    ok(c, "CREATE B")
    assert c.cmd("RENAME A B")[0] == b"a4 NO [ALREADYEXISTS] Target mailbox already exists"
    assert c.cmd("RENAME A A")[0] == b"a5 NO [ALREADYEXISTS] Target mailbox already exists"
    assert c.cmd("RENAME A inbox")[0] == b"a6 NO [ALREADYEXISTS] Target mailbox already exists"
    assert c.cmd("RENAME Nope C")[0] == b"a7 NO [NONEXISTENT] No such mailbox"
    assert c.cmd("RENAME A A/B")[0] == b"a8 NO [CANNOT] Cannot move a mailbox below itself"
    # a child name that merely starts alike is another mailbox
    assert c.cmd("RENAME A AB")[0] == b"a9 OK RENAME completed"


def test_rename_creates_the_levels_above_the_new_name(mserver):
    c = logged_in(mserver, account(mserver))
    ok(c, "CREATE Leaf")
    assert c.cmd("RENAME Leaf x/y/Leaf")[0] == b"a3 OK RENAME completed"
    t = tree(c)
    # RFC 9051 6.3.6: superior names are created; here as mailboxes, as CREATE does
    assert t[b"x"] == {b"\\HasChildren"} and t[b"x/y"] == {b"\\HasChildren"}
    assert t[b"x/y/Leaf"] == {b"\\HasNoChildren"}


def test_rename_inbox_moves_its_messages(mserver):
    a = account(mserver)
    fill(mserver, a, 2, "inbox rename")
    c = logged_in(mserver, a)
    watcher = logged_in(mserver, a)
    ok(c, "CREATE INBOX/Child")
    inbox = status(c, "INBOX", "MESSAGES UIDVALIDITY")
    ok(watcher, "SELECT INBOX")
    watcher.send(b"i1 IDLE\r\n")  # told at once, whichever loop thread it is on
    assert watcher.response() == b"+ idling"
    assert c.cmd("RENAME INBOX Saved")[0] == b"a4 OK RENAME completed"
    # RFC 9051 6.3.6: the messages move to a new mailbox; INBOX stays, empty; its
    # children are not renamed
    assert status(c, "Saved", "MESSAGES")["MESSAGES"] == 2
    after = status(c, "INBOX", "MESSAGES UIDVALIDITY")
    assert after == {"MESSAGES": 0, "UIDVALIDITY": inbox["UIDVALIDITY"]}
    t = tree(c)
    assert b"INBOX/Child" in t and b"Saved/Child" not in t
    # a session with INBOX selected sees them expunged
    assert [watcher.response(), watcher.response()] == [b"* 2 EXPUNGE", b"* 1 EXPUNGE"]
    watcher.send(b"DONE\r\n")
    _, untagged = watcher.until("i1")
    # rev1: it held \Recent for both; the count changed (RFC 3501 7.3.2, as Dovecot)
    assert untagged == [b"* 0 RECENT"]
    # new mail goes to the INBOX, not to the renamed mailbox
    fill(mserver, a, 1, "after rename")
    assert status(c, "INBOX", "MESSAGES")["MESSAGES"] == 1


def test_rename_of_the_selected_mailbox_keeps_it_selected(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    ok(c, "CREATE Before/Inner")
    ok(c, "SELECT Before/Inner")
    assert c.cmd("RENAME Before After")[0] == b"a4 OK RENAME completed"
    # still the same mailbox: STATUS of its new name is STATUS of the selected one
    status_, _ = c.cmd("STATUS After/Inner (MESSAGES)")
    assert status_ == b"a5 OK [CLIENTBUG] STATUS on the selected mailbox completed"
    assert c.cmd("CLOSE")[0] == b"a6 OK CLOSE completed"


# ---- SUBSCRIBE / UNSUBSCRIBE ----

def test_subscribe_and_unsubscribe(mserver):
    c = logged_in(mserver, account(mserver))
    ok(c, "CREATE Lists/Dev")
    assert c.cmd("SUBSCRIBE Lists/Dev")[0] == b"a3 OK SUBSCRIBE completed"
    _, lines = c.cmd('LIST (SUBSCRIBED) "" "Lists*"')
    assert lines == [b'* LIST (\\Subscribed) "/" Lists/Dev']
    assert c.cmd("UNSUBSCRIBE Lists/Dev")[0] == b"a5 OK UNSUBSCRIBE completed"
    _, lines = c.cmd('LIST (SUBSCRIBED) "" "Lists*"')
    assert lines == []
    # RFC 9051 6.3.8: removing a name that is not subscribed is not an error
    assert c.cmd("UNSUBSCRIBE Lists/Dev")[0] == b"a7 OK UNSUBSCRIBE completed"
    assert c.cmd("UNSUBSCRIBE Nowhere")[0] == b"a8 OK UNSUBSCRIBE completed"
    # 6.3.7: the server MAY check that the mailbox exists; kasten takes any valid name
    # (Dovecot 2.3 refuses it: test_imap_list.py compares)
    assert c.cmd("SUBSCRIBE Nowhere")[0] == b"a9 OK SUBSCRIBE completed"
    assert c.cmd("SUBSCRIBE Nowhere")[0] == b"a10 OK SUBSCRIBE completed"  # once
    assert c.cmd("SUBSCRIBE Nowhere/Deeper")[0] == b"a11 OK SUBSCRIBE completed"
    assert b"Nowhere" not in tree(c)  # no mailbox made
    assert lsub(c, "Now*") == [b"Nowhere", b"Nowhere/Deeper"]
    # INBOX in any case is INBOX, also as the first level (RFC 9051 5.1)
    ok(c, "UNSUBSCRIBE INBOX")
    ok(c, "SUBSCRIBE inbox")
    ok(c, "SUBSCRIBE Inbox/Later")
    assert lsub(c, "INBOX*") == [b"INBOX", b"INBOX/Later"]
    ok(c, "UNSUBSCRIBE iNbOx/Later")
    assert lsub(c, "INBOX*") == [b"INBOX"]
    # names are checked like mailbox names (also test_names_outside_the_account...)
    assert c.cmd(f"SUBSCRIBE {'n' * LIMIT_MAILBOX_NAME}")[0].endswith(b" OK SUBSCRIBE completed")
    assert c.cmd(f"SUBSCRIBE {'n' * (LIMIT_MAILBOX_NAME + 1)}")[0].endswith(
        b" NO [CANNOT] Invalid mailbox name")
    assert c.cmd(f"UNSUBSCRIBE {'n' * (LIMIT_MAILBOX_NAME + 1)}")[0].endswith(
        b" NO [CANNOT] Invalid mailbox name")
    ok(c, f"UNSUBSCRIBE {'n' * LIMIT_MAILBOX_NAME}")


def test_subscribed_names_in_modified_utf7_and_utf8(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    # rev1 sends and gets modified UTF-7 (RFC 3501 5.1.3), a UTF-8 client UTF-8
    ok(c, "SUBSCRIBE Entw&APw-rfe/&ZeVnLA-")
    assert lsub(c, "Entw*") == [b"Entw&APw-rfe/&ZeVnLA-"]
    u = logged_in(mserver, a)
    ok(u, "ENABLE UTF8=ACCEPT")
    _, lines = u.cmd('LIST (SUBSCRIBED) "" "Entw*"')
    assert lines == ['* LIST (\\Subscribed \\NonExistent) "/" "Entwürfe/日本"'.encode()]
    assert u.cmd('UNSUBSCRIBE "Entwürfe/日本"'.encode())[0] == b"a4 OK UNSUBSCRIBE completed"
    assert lsub(c, "Entw*") == []


def test_delete_keeps_the_subscription(mserver):
    """RFC 3501 6.3.6: the server MUST NOT unilaterally remove an existing mailbox
    name from the subscription list even if a mailbox by that name no longer exists
    (RFC 9051 6.3.7: SHOULD NOT). DELETE removes the mailbox, not the name."""
    c = logged_in(mserver, account(mserver))
    ok(c, "CREATE Projects/Old")
    ok(c, "SUBSCRIBE Projects/Old")
    ok(c, "SUBSCRIBE Projects")
    assert c.cmd("DELETE Projects/Old")[0] == b"a5 OK DELETE completed"
    assert c.cmd("DELETE Projects")[0] == b"a6 OK DELETE completed"
    assert c.cmd("DELETE Trash")[0] == b"a7 OK DELETE completed"
    t = tree(c)
    assert b"Projects" not in t and b"Projects/Old" not in t and b"Trash" not in t
    assert lsub(c, "Projects*") == [b"Projects", b"Projects/Old"]
    assert lsub(c, "Trash") == [b"Trash"]
    _, lines = c.cmd('LIST (SUBSCRIBED) "" "Projects*"')
    assert lines == [b'* LIST (\\Subscribed \\NonExistent) "/" Projects',
                     b'* LIST (\\Subscribed \\NonExistent) "/" Projects/Old']
    # the name made again is subscribed again; the client can still remove it
    ok(c, "CREATE Projects/Old")
    _, lines = c.cmd('LIST (SUBSCRIBED) "" "Projects*"')
    assert lines == [b'* LIST (\\Subscribed) "/" Projects',
                     b'* LIST (\\Subscribed) "/" Projects/Old']
    ok(c, "UNSUBSCRIBE Trash")
    assert lsub(c, "Trash") == []


def test_rename_takes_the_subscriptions_along(mserver):
    """RENAME of a mailbox renames the subscriptions of it and of every name below it,
    mailbox or not (RFC 9051 6.3.6 is silent; Dovecot 2.3 leaves them under the old
    names, see test_imap_list.py): the renamed folder stays subscribed. Names that
    only start alike stay; INBOX's rename moves messages, not subscriptions."""
    c = logged_in(mserver, account(mserver))
    for name in ("Team", "Team/2024", "Team/2025", "Teamwork"):
        ok(c, f"CREATE {name}")
    for name in ("Team", "Team/2024", "Team/ghost", "Teamwork"):
        ok(c, f"SUBSCRIBE {name}")
    assert c.cmd("RENAME Team Crew")[0] == b"a10 OK RENAME completed"
    assert lsub(c, "Crew*") == [b"Crew", b"Crew/2024", b"Crew/ghost"]
    assert lsub(c, "Team*") == [b"Teamwork"]
    _, lines = c.cmd('LIST (SUBSCRIBED) "" "Crew*"')
    assert lines == [b'* LIST (\\Subscribed) "/" Crew',
                     b'* LIST (\\Subscribed) "/" Crew/2024',
                     b'* LIST (\\Subscribed \\NonExistent) "/" Crew/ghost']
    # what a client that moves the subscriptions itself sends still succeeds
    for command in ("UNSUBSCRIBE Team", "UNSUBSCRIBE Team/2024", "SUBSCRIBE Crew",
                    "SUBSCRIBE Crew/2024"):
        ok(c, command)
    assert lsub(c, "Crew*") == [b"Crew", b"Crew/2024", b"Crew/ghost"]
    # a rename below a new level
    assert c.cmd("RENAME Crew/2024 Archive/2024")[0].endswith(b" OK RENAME completed")
    assert lsub(c, "Archive*") == [b"Archive", b"Archive/2024"]
    # INBOX: its messages move, its subscription stays with INBOX
    ok(c, "CREATE INBOX/Child")
    ok(c, "SUBSCRIBE INBOX/Child")
    ok(c, "RENAME INBOX Saved")
    assert lsub(c, "INBOX*") == [b"INBOX", b"INBOX/Child"]
    assert lsub(c, "Saved") == []
    # a subscribed name the rename would push past the limit renames nothing
    ok(c, "SUBSCRIBE q/" + "c" * (LIMIT_MAILBOX_NAME - 2))
    ok(c, "CREATE q")
    status_, _ = c.cmd("RENAME q qq")
    assert status_.endswith(b" NO [CANNOT] A mailbox name would be longer than 512 octets")
    assert b"q" in tree(c) and b"qq" not in tree(c)


def test_subscription_limit(mserver):
    """LIMIT_SUBSCRIPTIONS names per account: the last one fits, one more is NO [LIMIT]
    and changes nothing; names there already and removals still work."""
    c = logged_in(mserver, account(mserver))
    have = len(lsub(c))  # INBOX and the special-use mailboxes
    names = [f"s{i:04d}" for i in range(LIMIT_SUBSCRIPTIONS - have)]
    c.send(b"".join(f"s{i} SUBSCRIBE {name}\r\n".encode() for i, name in enumerate(names)))
    for i in range(len(names)):
        status_, _ = c.until(f"s{i}")
        assert status_ == f"s{i} OK SUBSCRIBE completed".encode(), status_
    status_, _ = c.cmd("SUBSCRIBE OneMore")
    assert status_.endswith(b" NO [LIMIT] An account has at most 2000 subscriptions")
    assert c.cmd(f"SUBSCRIBE {names[0]}")[0].endswith(b" OK SUBSCRIBE completed")
    assert len(lsub(c)) == LIMIT_SUBSCRIPTIONS
    assert b"OneMore" not in lsub(c, "O*")
    ok(c, f"UNSUBSCRIBE {names[0]}")
    assert c.cmd("SUBSCRIBE OneMore")[0].endswith(b" OK SUBSCRIBE completed")


# ---- names on the wire ----

def test_modified_utf7_and_utf8_names(mserver):
    a = account(mserver)
    c = logged_in(mserver, a)
    # rev1: modified UTF-7 (RFC 3501 5.1.3): "Entwürfe/日本"
    assert c.cmd("CREATE Entw&APw-rfe/&ZeVnLA-")[0] == b"a2 OK CREATE completed"
    t = tree(c)
    assert b"Entw&APw-rfe/&ZeVnLA-" in t
    # the same mailbox for a client that enabled UTF8=ACCEPT (RFC 6855 3)
    u = logged_in(mserver, a)
    ok(u, "ENABLE UTF8=ACCEPT")
    _, lines = u.cmd('LIST "" "Entw*"')
    assert sorted(lines) == sorted(['* LIST (\\HasChildren) "/" "Entwürfe"'.encode(),
                                    '* LIST (\\HasNoChildren) "/" "Entwürfe/日本"'.encode()])
    assert u.cmd('RENAME "Entwürfe/日本" "Entwürfe/中国"'.encode())[0] == \
        b"a4 OK RENAME completed"
    assert b"Entw&APw-rfe/&Ti1W,Q-" in tree(c)
    # what is not modified UTF-7 is refused for rev1 ...
    for bad in ('"&Jjo"', '"&AGE-"', '"a&b"', '"&-&-x&"'):
        status_, _ = c.cmd(f"CREATE {bad}")
        assert status_.endswith(b"BAD Mailbox name is not valid modified UTF-7"), status_
    c.send('L1 CREATE {3+}\r\nä\r\n'.encode())
    assert c.until("L1")[0] == b"L1 BAD Mailbox name is not valid modified UTF-7"
    # ... and what is not UTF-8 for UTF-8 clients
    u.send(b"L2 CREATE {2+}\r\n\xc3(\r\n")
    assert u.until("L2")[0] == b"L2 BAD Mailbox name is not valid UTF-8"


# ---- bounds ----

def test_mailbox_limit_and_a_full_list(mserver):
    """LIMIT_MAILBOXES mailboxes with names of the longest length still LIST, with
    STATUS, in one command; one more is NO [LIMIT]. So do LIMIT_SUBSCRIPTIONS names
    as long with them, in LIST (SUBSCRIBED) and LSUB."""
    a = account(mserver)
    c = logged_in(mserver, a)
    n = LIMIT_MAILBOXES - DEFAULT_MAILBOXES
    names = [f"{i:04d}" + "\u00e9" * ((LIMIT_MAILBOX_NAME - 4) // 2) for i in range(n)]
    ok(c, "ENABLE UTF8=ACCEPT")
    c.send(b"".join(f'c{i} CREATE "{name}"\r\n'.encode() for i, name in enumerate(names)))
    for i in range(n):
        status_, _ = c.until(f"c{i}")
        assert status_ == f"c{i} OK CREATE completed".encode(), status_
    status_, _ = c.cmd("CREATE OneMore")
    assert status_ == b"a3 NO [LIMIT] An account has at most 1000 mailboxes"
    # RENAME INBOX would add one, and so would new levels
    status_, _ = c.cmd("RENAME INBOX Elsewhere")
    assert status_ == b"a4 NO [LIMIT] An account has at most 1000 mailboxes"
    status_, _ = c.cmd("RENAME Drafts new/Drafts")
    assert status_ == b"a5 NO [LIMIT] An account has at most 1000 mailboxes"
    # a rev1 client gets the names in modified UTF-7: longer still
    r = logged_in(mserver, a)
    status_, lines = r.cmd('LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY UNSEEN '
                           'SIZE MAILBOXID))')
    assert status_ == b"a2 OK LIST completed"
    assert len([l for l in lines if l.startswith(b"* LIST ")]) == LIMIT_MAILBOXES
    assert len([l for l in lines if l.startswith(b"* STATUS ")]) == LIMIT_MAILBOXES
    # and LIMIT_SUBSCRIPTIONS subscribed names as long: every mailbox, and as many
    # names without one, each below a level of its own; a LIST and an LSUB of them all
    ghosts = [f"z{i:03d}/" + "\u00e9" * ((LIMIT_MAILBOX_NAME - 5) // 2) for i in range(
        LIMIT_SUBSCRIPTIONS - LIMIT_MAILBOXES)]
    c.send(b"".join(f's{i} SUBSCRIBE "{name}"\r\n'.encode()
                    for i, name in enumerate(names + ghosts)))
    for i in range(len(names) + len(ghosts)):
        status_, _ = c.until(f"s{i}")
        assert status_ == f"s{i} OK SUBSCRIBE completed".encode(), status_
    assert c.cmd("SUBSCRIBE x")[0].endswith(b" NO [LIMIT] An account has at most 2000 subscriptions")
    status_, lines = r.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "*" RETURN (CHILDREN STATUS '
                           '(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE MAILBOXID))')
    assert status_ == b"a3 OK LIST completed"
    assert len([l for l in lines if l.startswith(b"* LIST (\\Subscribed \\HasNoChildren) ")]) \
        == LIMIT_MAILBOXES
    assert len([l for l in lines if l.startswith(b"* LIST (\\Subscribed \\NonExistent "
                                                 b"\\HasNoChildren) ")]) == len(ghosts)
    assert len([l for l in lines if l.startswith(b"* STATUS ")]) == LIMIT_MAILBOXES
    assert len(lines) == LIMIT_SUBSCRIPTIONS + LIMIT_MAILBOXES
    status_, lines = r.cmd('LSUB "" "%"')
    assert status_ == b"a4 OK LSUB completed"
    assert len([l for l in lines if l.startswith(b"* LSUB (\\Noselect) ")]) == len(ghosts)
    assert len(lines) == LIMIT_MAILBOXES + len(ghosts)
    ok(c, f'DELETE "{names[0]}"')
    assert c.cmd("CREATE OneMore")[0].endswith(b"OK CREATE completed")


# ---- durability ----

def test_changes_are_on_disk_before_ok(server):
    """Every OK is given after the commit: a kill -9 right after it loses nothing."""
    a = account(server)
    fill(server, a, 1)
    c = logged_in(server, a)
    ok(c, "RENAME INBOX Kept/Deep")  # a new mailbox, its parent, INBOX's message
    ok(c, "CREATE Dropped")
    ok(c, "SUBSCRIBE Kept/Deep")
    ok(c, "SUBSCRIBE Dropped")
    ok(c, "SUBSCRIBE Ghost")
    ok(c, "UNSUBSCRIBE Trash")
    ok(c, "RENAME Kept Renamed")
    ok(c, "DELETE Dropped")
    server.kill9()
    server.start()
    c = logged_in(server, a)
    t = tree(c)
    assert b"Renamed/Deep" in t and b"Renamed" in t
    assert b"Kept" not in t and b"Dropped" not in t
    assert status(c, "Renamed/Deep")["MESSAGES"] == 1
    _, lines = c.cmd('LIST (SUBSCRIBED) "" "Renamed*"')
    assert lines == [b'* LIST (\\Subscribed) "/" Renamed/Deep']
    assert lsub(c) == [b"Archive", b"Drafts", b"Dropped", b"Ghost", b"INBOX", b"Junk",
                       b"Renamed/Deep", b"Sent"]
