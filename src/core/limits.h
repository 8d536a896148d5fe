/* limits.h: every bound a client can run into, in one place.
 * Each is a default; the ones marked (conf) can be lowered in the config file.
 * Where a limit has a pre-authentication value, that value is the smaller one. */
#ifndef KASTEN_LIMITS_H
#define KASTEN_LIMITS_H

/* SMTP / LMTP (RFC 5321 4.5.3.1 gives minimums; ours are larger) */
#define LIMIT_SMTP_LINE 2048               /* command line incl. CRLF */
#define LIMIT_SMTP_FROM_HEADER 8192        /* From: value kept for the submission check */
#define LIMIT_SUBMIT_HEADER (1u << 20)     /* header section a message sent without an SMTP
					    * session (JMAP) may have: read whole to check
					    * From:, find the envelope and drop Bcc */
#define LIMIT_SMTP_RCPTS 100               /* recipients per transaction */
#define LIMIT_SMTP_ERRORS 10               /* bad commands before we hang up */
#define LIMIT_SMTP_ENVID 100               /* RFC 3461 4.4: ENVID, encoded */
#define LIMIT_SMTP_ORCPT 500               /* RFC 3461 4.2: ORCPT, encoded */
/* Submission abuse limits ([submission], src/smtp/smtp_rate.c) */
#define LIMIT_SUBMIT_RCPTS 100             /* recipients per message (conf) */
#define LIMIT_SUBMIT_PER_HOUR 500          /* messages per account and sliding hour (conf) */
#define LIMIT_SUBMIT_PER_HOUR_MAX 1000000  /* highest value the config takes */
#define LIMIT_SUBMIT_RATE_ACCOUNTS 4096    /* accounts counted at once (about 1 MiB); the
					    * one with the fewest messages gives way */
#define LIMIT_SUBMIT_RATE_PROBE 16         /* table slots looked at per account */
#define LIMIT_SMTP_SIGN_CHUNK (64u << 10)  /* bytes of the spool file read at a time to
					    * DKIM-sign it */
#define LIMIT_MESSAGE_SIZE (50u << 20)     /* SIZE advertised (conf) */
#define LIMIT_BDAT_CHUNK (50u << 20)       /* one BDAT chunk (<= message size) */

/* IMAP (for the IMAP issue; kept here so all bounds live together) */
#define LIMIT_IMAP_LINE_PREAUTH 8192
#define LIMIT_IMAP_LINE 65536
#define LIMIT_IMAP_LITERAL_MINUS 4096
#define LIMIT_IMAP_DEPTH_PREAUTH 1
#define LIMIT_IMAP_DEPTH 32
#define LIMIT_ARGS 1024                   /* arguments in all lists of one command (about
					    * 48 bytes each in the command arena) */
#define LIMIT_IMAP_LITERAL_PREAUTH 8192    /* one literal held in memory before login */
#define LIMIT_IMAP_LITERAL 65536           /* ... after (names, search strings; not APPEND) */
#define LIMIT_IMAP_TOTAL_PREAUTH 16384     /* one command: its lines and held literals */
#define LIMIT_IMAP_TOTAL (256u << 10)      /* ... after; with its tree < LIMIT_COMMAND_ARENA */
#define LIMIT_IMAP_DISCARD_PREAUTH 65536   /* refused non-sync literal octets read to stay
					    * in sync (after login: the APPENDLIMIT) */
#define LIMIT_IMAP_LOG_LINE 160            /* command line octets kept for the debug log */
#define LIMIT_IMAP_SEQSET 16384            /* ranges in one sequence set */
#define LIMIT_IMAP_SEARCH_DEPTH 32         /* NOT / OR / parentheses in SEARCH keys */
#define LIMIT_IMAP_SEARCH_WINDOW 1024      /* messages SEARCH/SORT/THREAD read per store call */
#define LIMIT_IMAP_SEARCH_ARENA (32u << 20) /* one SEARCH/SORT/THREAD: compiled keys, index
                                            * hits, match bitmap, SORT/THREAD keys per match */
#define LIMIT_IMAP_SEARCH_SCRATCH (8u << 20) /* ... each of: a window of rows, a batch of
                                            * cached headers, one header decoded */
#define LIMIT_IMAP_FETCH_FIELDS 256        /* names in one BODY[HEADER.FIELDS (...)] */
/* FETCH answers (src/imap/imap_fetch*.c): what one FETCH holds at a time, however many
 * messages it names and however big they are */
#define LIMIT_IMAP_FETCH_BATCH 256         /* messages (and sequence numbers spanned)
					    * read from the store in one step */
#define LIMIT_IMAP_FETCH_CHUNK (64u << 10) /* bytes of a message file read at a time */
#define LIMIT_IMAP_FETCH_GATHER (16u << 10) /* a response's small pieces gathered into
					     * one write to the connection */
#define LIMIT_IMAP_FETCH_EXTRA_ARENA (1u << 20) /* cached headers and previews of a step */
#define LIMIT_IMAP_FETCH_MSG_ARENA (4u << 20)   /* one message's structure, header blocks */
#define LIMIT_IMAP_FETCH_HEADER (1u << 20) /* a header block HEADER.FIELDS filters in
					    * memory; a longer one: NO [LIMIT] */
#define LIMIT_IMAP_FETCH_INLINE (1u << 20) /* bytes BINARY decodes on the loop thread to
					    * size an answer; more go to the worker pool */
#define LIMIT_IMAP_LIST_ARENA (4u << 20)   /* one LIST/LSUB's tree: LIMIT_MAILBOXES mailboxes
					    * with STATUS counts and LIMIT_SUBSCRIPTIONS names,
					    * all LIMIT_MAILBOX_NAME long: 1.85 MiB measured */
#define LIMIT_IMAP_ID_PAIRS 30             /* RFC 2971 3.3 */
#define LIMIT_IMAP_ID_FIELD 30
#define LIMIT_IMAP_ID_VALUE 1024
#define LIMIT_IMAP_OBJECTID 255            /* RFC 8474 5: EMAILID/THREADID/MAILBOXID */

#define LIMIT_IMAP_ERRORS 20               /* BAD commands before we hang up */
#define LIMIT_IMAP_OWN_CHANGES 4096        /* a session's own changes (modseqs) between two
					    * looks at the mailbox that are not echoed back
					    * (a FETCH setting \Seen makes one per 256) */
/* The commands that change messages (src/imap/imap_write.h) */
#define LIMIT_IMAP_JOB_ARENA (16u << 20)   /* one STORE/COPY/MOVE/EXPUNGE/APPEND's UID lists
					    * and results: 4-12 bytes a message named */
#define LIMIT_IMAP_APPEND_MSGS 128         /* messages in one MULTIAPPEND (RFC 3502); each
					    * with flags and a date is 3 top-level arguments
					    * (imap_verbs[]) and 4-8 within LIMIT_ARGS */
#define LIMIT_IMAP_APPEND_TOTAL (512u << 20) /* octets of all messages of one APPEND */
#define LIMIT_IMAP_APPEND_EXTRACT (16u << 20) /* mime_extract of one appended message */
#define LIMIT_IMAP_SPOOL_BUF (16u << 10)   /* APPEND data converted (LF -> CRLF) per write */

/* HTTP/1.1 (src/http; RFC 9112) */
#define LIMIT_HTTP_REQUEST_LINE 8192       /* request line incl. CRLF (414 past it) */
#define LIMIT_HTTP_HEADER_BYTES (32u << 10) /* header section incl. CRLFs (431) */
#define LIMIT_HTTP_HEADER_FIELDS 100       /* header fields in one request (431) */
#define LIMIT_HTTP_CHUNK_LINE 4096         /* one chunk-size line with its extensions,
					    * and one trailer field (RFC 9112 7.1.1) */
#define LIMIT_HTTP_TRAILER_BYTES (8u << 10) /* the trailer section of a chunked body */
#define LIMIT_HTTP_BODY_MEMORY (1u << 20)  /* a body held in memory; larger: spooled */
#define LIMIT_HTTP_BODY_DEFAULT (64u << 10) /* a route's body maximum unless it says */
#define LIMIT_HTTP_BODY_API (10u << 20)    /* POST /jmap/api: JMAP maxSizeRequest */
#define LIMIT_HTTP_UPLOAD (25u << 20)      /* [http] max_upload_size default (conf) */
#define LIMIT_HTTP_UPLOAD_MAX (1ull << 30) /* ... and the largest it may be set to */
#define LIMIT_HTTP_REQ_ARENA (2u << 20)    /* one request: fields, decoded path, body
					    * held in memory, the handler's answer */
#define LIMIT_HTTP_STREAM_PENDING (256u << 10) /* output an event stream may queue before
					    * the client is deemed gone */
#define LIMIT_HTTP_FILE_CHUNK (64u << 10)  /* bytes of a file read per on_drain */
#define LIMIT_HTTP_LINGER_MS 2000          /* after an error answer, input is dropped
					    * this long before closing, so that unread
					    * input does not make the kernel reset the
					    * connection before the client reads the
					    * answer (RFC 9112 9.6) ... */
#define LIMIT_HTTP_LINGER_BYTES (1u << 20) /* ... or until this much was dropped */
/* Client autoconfiguration (src/http/http_autoconfig*.c) */
#define LIMIT_AUTODISCOVER_REQUEST 8192    /* an Outlook POX request body (two short
					    * elements; 413 past it) */
#define LIMIT_AUTODISCOVER_DEPTH 8         /* element nesting in it (it needs 3) */
#define LIMIT_AUTOCONFIG_XML (16u << 10)   /* one generated document (4 KiB at most with
					    * every listener and the longest address) */

/* POP3 (RFC 2449 4: 255 octets incl. CRLF) */
#define LIMIT_POP3_LINE 255
#define LIMIT_POP3_ERRORS 10

/* The client side (src/client: kasten fetch, sync, migrate) */
#define LIMIT_CLIENT_IO_BUF (16u << 10)    /* each of a connection's read and write buffers */
#define LIMIT_CLIENT_HOST 255              /* a host name (RFC 1035 2.3.4) */
#define LIMIT_CLIENT_ERROR 512             /* one line of error detail */
#define LIMIT_CLIENT_TIMEOUT 60            /* seconds for connect, handshake, each read/write */
#define LIMIT_CLIENT_NAME 64               /* an account name, a port */
#define LIMIT_CLIENT_USER 320              /* a user name (an address: LIMIT_ADDRESS) */
#define LIMIT_CLIENT_PASSWORD 1024         /* a password (first line of its file) */
#define LIMIT_CLIENT_PATH 4095             /* a file or directory name (PATH_MAX - 1) */
#define LIMIT_CLIENT_KEEP_DAYS 36500       /* --keep-days N: a hundred years */
#define LIMIT_CLIENT_PROGRESS_MS 250       /* the progress line: at most 4 updates a second */
/* The POP3 client (src/client/client_pop3*) */
#define LIMIT_CLIENT_POP3_LINE 1024        /* a status or listing line without its CRLF
					    * (RFC 2449 4: 512 with it; some greet longer) */
#define LIMIT_CLIENT_POP3_UID 70           /* RFC 1939 7: a unique-id is 1-70 octets */
#define LIMIT_CLIENT_POP3_MESSAGES 1000000u /* entries of one UIDL or LIST listing */
#define LIMIT_CLIENT_MESSAGE (1u << 30)    /* one message a server sends the client */
#define LIMIT_CLIENT_FETCH_UIDSET 8192     /* bytes of one UID set fetch deletes with */

/* The client side's local store (src/client/client_maildir*.c, client_mbox.c) */
#define LIMIT_CLIENT_MAILDIR_WRITE (64u << 10) /* message bytes gathered per write(2) */
#define LIMIT_CLIENT_MAILDIR_BATCH 256    /* messages written to tmp/ before their fsyncs
					    * and renames make them durable together ... */
#define LIMIT_CLIENT_MAILDIR_BATCH_BYTES (16u << 20) /* ... or this many of their bytes */
#define LIMIT_CLIENT_MAILDIR_SYNCFS_DIRTY (16ull << 20) /* a batch is flushed with one
					    * syncfs(2) when the system has at most this much
					    * unwritten page cache (no more than a batch's own
					    * bytes), else with an fsync per file */
#define LIMIT_CLIENT_MAILDIR_TMP_AGE (36 * 3600) /* seconds after which a file left in tmp/
					    * by a crash is removed (the Maildir convention) */
#define LIMIT_CLIENT_MAILDIR_HOST 64       /* bytes of the escaped host name in a unique
					    * file name, so it fits CLIENT_MAILDIR_NAME_MAX */
#define LIMIT_CLIENT_MAILDIR_MSGS 1000000  /* files of new/ + cur/ one Maildir lists (find's
					    * cache, each's snapshot): ~40 bytes + name each */
#define LIMIT_CLIENT_MAILDIR_DEPTH 16      /* directory levels a folder walk descends */
#define LIMIT_CLIENT_MAILDIR_FOLDERS 10000 /* directories one folder walk visits */
#define LIMIT_CLIENT_MBOX_BUF (64u << 10)  /* mbox bytes read at a time: a message of any
					    * size reaches its reader in pieces of this */
#define LIMIT_CLIENT_MBOX_LOOKAHEAD 1024   /* bytes of a line's start the mbox reader
					    * judges it by: a From_ line and its date, a
					    * Status: value, a ">>From " run */

/* The IMAP client (src/client/client_imap*: what a server may send us). A SEARCH answer
 * is one line: 4 MiB holds about 500,000 UIDs. */
#define LIMIT_CLIENT_IMAP_LINE (4u << 20)  /* one response line, literals not counted */
#define LIMIT_CLIENT_IMAP_DEPTH 64         /* nested lists (BODYSTRUCTURE of a deep MIME tree) */
#define LIMIT_CLIENT_IMAP_ITEMS 600000     /* tokens in one response */
#define LIMIT_CLIENT_IMAP_ARENA (64u << 20) /* one response's tokens (about 48 bytes each) */
#define LIMIT_CLIENT_IMAP_HOLD (64u << 10) /* a literal held whole (names, header fields);
					    * longer ones stream to the caller in pieces */
#define LIMIT_CLIENT_IMAP_LITERAL (1ull << 31) /* one literal (a message) we accept */
#define LIMIT_CLIENT_IMAP_CHUNK (64u << 10) /* literal bytes read and handed on at a time */
#define LIMIT_CLIENT_IMAP_APPEND_BATCH 50  /* messages in one MULTIAPPEND (RFC 3502) ... */
#define LIMIT_CLIENT_IMAP_APPEND_BYTES (32u << 20) /* ... and their octets together */
/* kasten migrate (src/client/client_migrate*) */
#define LIMIT_CLIENT_MIGRATE_ARENA (256u << 20) /* one server folder's index: UID, size and
					    * Message-ID, about 150 bytes a message */
#define LIMIT_CLIENT_MIGRATE_BUCKETS 65536 /* size buckets of that index */
#define LIMIT_CLIENT_MIGRATE_SETTLE 2      /* seconds to let the session of a killed run
					    * finish its APPEND before its messages are
					    * looked for again (only when a run left some) */
/* kasten sync (src/client/client_sync*, client_digest.c) */
#define LIMIT_CLIENT_DIGEST_HEADER (64u << 10) /* header bytes held to find a Message-ID */
#define LIMIT_CLIENT_SYNC_ARENA (512u << 20) /* one pass over the tree: every folder's
					    * rows and files, each folder's server listing and
					    * plan, about 400 bytes a message */
#define LIMIT_CLIENT_SYNC_UIDSET 8192      /* bytes of one UID set in a FETCH/STORE/MOVE */
#define LIMIT_CLIENT_SYNC_SETTLE 2         /* seconds to let the session of a killed run
					    * finish its MULTIAPPEND before its pending
					    * uploads are looked for on the server again */
#define LIMIT_CLIENT_SYNC_FULL_CHECK 300   /* seconds between full checks while staying
					    * connected (every folder, every UID) */
#define LIMIT_CLIENT_SYNC_LOCAL_POLL 2     /* seconds between looks at the local tree for
					    * changes while idle */
#define LIMIT_CLIENT_SYNC_DIR_QUIET 2      /* seconds a Maildir's new/ and cur/ must have been
					    * still before a listing of them began, for it to
					    * stand in for the next pass's (an mtime of a coarse
					    * clock tick can hide a later change: Dovecot's
					    * maildir waits as long) */

/* MIME */
#define LIMIT_HEADER_FIELDS 1000
#define LIMIT_MIME_DEPTH 32
#define LIMIT_MIME_PARTS 2000

/* What mime_extract keeps of a message for IMAP/JMAP (at delivery and APPEND); past a
 * bound the rest is left out, never an error. */
#define LIMIT_SEARCH_TEXT (1u << 20)       /* bytes of decoded text per message (FTS) */
#define LIMIT_PREVIEW_CHARS 256            /* RFC 8970 3.1: preview code points */
#define LIMIT_MSGID 998                    /* bytes of one message id (RFC 5322 2.1.1 line) */
#define LIMIT_REFERENCES 64                /* ids of References + In-Reply-To kept */
#define LIMIT_QP_PENDING_WS 76             /* SP/HTAB a QP decoder holds back to see if they
                                            * trail the line (RFC 2045 6.7: 76-char lines) */
#define LIMIT_HTML_NAME 32                 /* tag/entity name bytes kept to match known ones */
#define LIMIT_CHARSET_NAME 64              /* bytes of a charset label; longer: unknown */
#define LIMIT_CHARSET_CARRY 16             /* bytes of a multibyte character cut between
                                            * two chunks, kept for the next one */

/* SASL */
#define LIMIT_SASL_LINE 8192

/* Memory caps per connection and per command (bytes). */
#define LIMIT_SESSION_ARENA (256u << 10)
#define LIMIT_COMMAND_ARENA (1u << 20)
#define LIMIT_OUTPUT_PENDING (256u << 10)  /* stop reading while more is queued */

/* Timeouts (seconds; conf). Idle time is counted from the last whole command (or
 * chunk of a body), never from the last byte: a byte now and then holds nothing open. */
#define LIMIT_TIMEOUT_SMTP 300             /* RFC 5321 4.5.3.2.7 server timeout */
#define LIMIT_TIMEOUT_POP3 600             /* RFC 1939 3: autologout, at least 10 minutes */
#define LIMIT_TIMEOUT_IMAP 1800            /* RFC 9051 5.4: at least 30 minutes */
#define LIMIT_TIMEOUT_HTTP 120             /* an idle keep-alive connection (event streams
					    * write pings well within it) */
#define LIMIT_TIMEOUT_LOGIN 60             /* connect to successful login, in total */
#define LIMIT_AUTH_CACHE_TTL 3600          /* a verified password is remembered this long
					    * (src/auth/auth_cache.c; Dovecot's auth_cache_ttl) */
#define LIMIT_TIMEOUT_CLOSE 10             /* for the last reply to leave when closing */
#define LIMIT_BODY_PROGRESS (64u << 10)    /* body octets that count as progress */

/* Connections per client (conf): an IPv4 address or an IPv6 /64. */
#define LIMIT_CONNS_PER_CLIENT 64
/* Workers for store calls that wait for the disk (net_work.c), per loop thread */
#define LIMIT_IO_WORKERS_PER_LOOP 4
#define LIMIT_UNAUTH_PER_CLIENT 16         /* not yet logged in, on login listeners */
#define LIMIT_AUTH_CACHE_SLOTS 4096        /* accounts whose verified password is
					    * remembered at once (48 bytes each) */

/* COMPRESS=DEFLATE (RFC 4978): our compressor's window and hash sizes (zlib's
 * windowBits and memLevel): about 24 KiB per compressing connection instead of zlib's
 * default 256 KiB. The decompressor must accept the client's 32 KiB window. */
#define LIMIT_DEFLATE_WINDOW_BITS 12
#define LIMIT_DEFLATE_MEM_LEVEL 4

/* The store (src/store): what it keeps per message and mailbox */
#define LIMIT_CACHED_HEADER (64u << 10)    /* a longer top-level header is not cached */
#define LIMIT_STORE_EXTRACT_ARENA (16u << 20) /* the store's mime_extract of one message */
#define LIMIT_SEARCH_NEEDLE 1024           /* bytes of one SEARCH string the index takes */
#define LIMIT_MAILBOX_KEYWORDS 1000        /* keywords a mailbox may define (PERMANENTFLAGS) */
#define LIMIT_EXPUNGED_KEEP 10000          /* expunge-log entries kept per mailbox at least */
#define LIMIT_EXPUNGED_KEEP_DAYS 30        /* ... and all of those younger than this */
#define LIMIT_BLOB_KEEP_HOURS 24           /* JMAP uploads live this long (RFC 8620 6.1: >= 1 h) */
#define LIMIT_BLOB_MAX (1ull << 30)        /* one upload at most, whatever the config says */
#define LIMIT_BLOB_TYPE 255                /* bytes of an upload's media type */
#define LIMIT_ACTIVITY_DAYS 90             /* the activity log keeps this long ... */
#define LIMIT_ACTIVITY_ROWS 1000           /* ... and at most this many rows per account
					    * of each kind (clients, POP3 removals) */
#define LIMIT_ACTIVITY_STRING 128          /* bytes of a client name or address kept */
#define LIMIT_SUBMISSION_DAYS 90           /* JMAP EmailSubmissions are kept this long ... */
#define LIMIT_SUBMISSION_ROWS 1000         /* ... and at most this many per account */
#define LIMIT_SUBMISSION_OBJECT 65536      /* bytes of one kept EmailSubmission (JSON) */

/* Mailbox names */
#define LIMIT_MAILBOX_NAME 512
#define LIMIT_MAILBOXES 1000               /* mailboxes IMAP CREATE and RENAME let an account
                                            * reach: one LIST shows them all (within
                                            * LIMIT_IMAP_LIST_ARENA), even with names this long */
#define LIMIT_SUBSCRIPTIONS 2000           /* subscribed names per account: every mailbox,
                                            * and as many names without one (RFC 9051
                                            * 6.3.7); SUBSCRIBE past it is NO [LIMIT] */
#define LIMIT_ADDRESS 320                  /* RFC 5321 4.5.3.1.1/2: 64 + 1 + 255 */

/* Mailbox addresses an account or alias may have (core/addr.h), RFC 5321 4.5.3.1 */
#define LIMIT_ADDR_LOCAL 64                /* 4.5.3.1.1: local part */
#define LIMIT_ADDR_DOMAIN 255              /* 4.5.3.1.2: domain, as written and as A-labels */
#define LIMIT_ADDR_LABEL 63                /* RFC 1035 2.3.4: one label in DNS form */
#define LIMIT_ADDR_MAILBOX 254             /* 4.5.3.1.3: a 256-octet path less "<" ">" */

/* DKIM (src/outbound/dkim*): signing and verifying, RFC 6376 and RFC 8463 */
#define LIMIT_DKIM_HEADER (1u << 20)       /* header block held while signing/verifying */
#define LIMIT_DKIM_TAGS 32                 /* tags in one tag-list (RFC 6376 3.2) */
#define LIMIT_DKIM_SIGS 8                  /* DKIM-Signature fields verified per message
					    * (the first ones; later ones are not looked at) */
#define LIMIT_DKIM_SIGNED_FIELDS 64        /* names in one signature's h= */
#define LIMIT_DKIM_KEYS 8                  /* keys (selectors) of one domain used to sign */
#define LIMIT_DKIM_SELECTOR 63             /* a selector: one DNS label (RFC 1035 2.3.4) */
#define LIMIT_DKIM_KEY_FILE (16u << 10)    /* one PEM private key file */
#define LIMIT_DKIM_RECORD 2048             /* one key record (TXT text), as published or
					    * looked up: RSA 4096 needs about 750 */
#define LIMIT_DKIM_ZONE_FILE (1u << 20)    /* `kasten dkim verify --key-record FILE` */
#define LIMIT_DKIM_CMD_CHUNK (64u << 10)   /* bytes `kasten dkim sign|verify` read at once */
#define LIMIT_DKIM_DOMAINS 1024            /* domains whose keys a server keeps loaded */
#define LIMIT_DKIM_DIR_QUIET 2             /* seconds a domain's key directory must have
					    * been unchanged before its mtime is trusted to
					    * show the next change (a coarse clock tick can
					    * give two changes one mtime) */
#define LIMIT_DKIM_RSA_MIN_BITS 1024       /* RFC 8301 3.2: smaller keys never verify */
#define LIMIT_DNS_RECORDS 24               /* records `kasten dns DOMAIN` lists */

/* DNS (src/outbound/dns*): what the resolver hands on from one answer */
#define LIMIT_DNS_NAME 253                 /* a name in text without the final dot
					    * (RFC 1035 2.3.4: 255 octets on the wire) */
#define LIMIT_DNS_ANSWER_RECORDS 64        /* records of one answer; an answer with more
					    * is refused whole (DNS_STATUS_MALFORMED) */
#define LIMIT_DNS_TXT 4096                 /* one TXT record's strings joined (a DKIM key
					    * of RSA 4096 needs about 750) */
#define LIMIT_DNS_TLSA_DATA 2048           /* TLSA association data: a SHA-512 is 64, a
					    * whole certificate (matching type 0) more */
#define LIMIT_DNS_ANSWER (256u << 10)      /* bytes of one decoded answer, all records */
#define LIMIT_DNS_QUERY_TIME 30            /* seconds one query may take (conf [dns]
					    * timeout); then it is a temporary failure */

/* MTA-STS and DANE (src/outbound/tlspol*, mtasts*, dane*) */
#define LIMIT_TLSPOL_POLICY (64u << 10)    /* RFC 8461 3.3: a policy body, at most 64 KiB */
#define LIMIT_TLSPOL_MX 16                 /* mx lines kept from one policy; more: refused */
#define LIMIT_TLSPOL_MAX_AGE 31557600      /* RFC 8461 3.2: max_age at most a year */
#define LIMIT_TLSPOL_ID 32                 /* RFC 8461 3.1: id is 1-32 alphanumerics */
#define LIMIT_TLSPOL_WHY 512               /* one line saying which policy applied, why */
#define LIMIT_TLSPOL_PATH 4096             /* the cache file's path (PATH_MAX) */
#define LIMIT_TLSPOL_HTTP_HEAD 8192        /* the policy fetch's status line and headers */
#define LIMIT_TLSPOL_FETCH_TIME 60         /* seconds one policy fetch may take in all */
#define LIMIT_TLSPOL_IO_TIME 10            /* ... the connect and each read/write of it */
#define LIMIT_TLSPOL_REFRESH 86400         /* RFC 8461 3.3: a cached policy is fetched
					    * again after a day even if its id is unchanged */
#define LIMIT_TLSPOL_CACHE_BUSY_MS 5000    /* waiting for another writer of mta-sts.db */

/* Inbound checks on port 25 (src/outbound/spf*, dmarc*, psl*, authres*) */
#define LIMIT_SPF_DNS_TERMS 10             /* RFC 7208 4.6.4: include, a, mx, ptr, exists
					    * and redirect that query DNS, per check_host */
#define LIMIT_SPF_VOID_LOOKUPS 2           /* RFC 7208 4.6.4: NXDOMAIN/no-data answers */
#define LIMIT_SPF_MX_NAMES 10              /* RFC 7208 4.6.4: MX (and PTR) names looked at */
#define LIMIT_SPF_TERMS 64                 /* terms in one record (a 4 KiB TXT holds more
					    * only as padding) */
#define LIMIT_SPF_MACRO_OUT 253            /* a macro-expanded domain-spec: a DNS name */
#define LIMIT_SPF_MACRO_VALUE 512          /* one macro letter's value before transformers */
#define LIMIT_SPF_MACRO_WORK 4096          /* one domain-spec expanded, before 7.3's cut */
#define LIMIT_DMARC_TAGS 32                /* tags in one DMARC record (RFC 7489 6.3) */
#define LIMIT_PSL_FILE (1u << 20)          /* the Public Suffix List file (about 230 KiB) */
#define LIMIT_PSL_RULES 20000              /* rules kept from it (about 9,500 today) */
#define LIMIT_AUTHRES_HEADER 8192          /* the Authentication-Results field we write */
#define LIMIT_AUTHRES_COMMENT_DEPTH 8      /* nested comments before an authserv-id */
#define LIMIT_DMARC_FROM_DOMAINS 4         /* From: domains evaluated; more: permerror */
#define LIMIT_AUTHRES_FROM_ARENA (256u << 10) /* one From: field parsed for its domains;
					    * one that needs more is refused like too many */
#define LIMIT_CHECKS_TIME 60               /* seconds all checks of one message may take;
					    * lookups past it are temperror */

/* Outbound (src/outbound/out*, [outbound] in conf) */
#define LIMIT_CONF_DURATION (366u * 86400) /* longest duration a config key takes */
#define LIMIT_OUTBOUND_RETRY_STEPS 32      /* waits in [outbound] retry_schedule */
#define LIMIT_OUTBOUND_OWN_ADDRS 32       /* our listening addresses the loop check knows */
#define LIMIT_OUTBOUND_STOP_WAIT 15        /* seconds a stopping server waits for sends */
#define LIMIT_OUTBOUND_TICK 1              /* seconds between the scheduler's looks at the
					    * queue without a wake-up (admin changes from
					    * `kasten queue` are seen within it) */
#define LIMIT_OUTBOUND_LEASE (6 * 3600)    /* seconds a lease lasts: longer than any batch
					    * takes with RFC 5321 timeouts, so a slow send is
					    * never leased twice; a restart clears leases */
#define LIMIT_OUTBOUND_LEASE_MSGS 16       /* messages per lease: one worker's batch */
#define LIMIT_OUTBOUND_BACKLOG 4096        /* leased messages waiting for a worker, in all */
#define LIMIT_OUTBOUND_LEASE_ARENA (32u << 20) /* bytes of one lease's rows (recipients,
					    * DKIM lines) */
#define LIMIT_OUTBOUND_MX_HOSTS 16         /* MX hosts tried per attempt, best first */
#define LIMIT_OUTBOUND_HOST_ADDRS 8        /* addresses tried per MX host (A and AAAA) */
#define LIMIT_OUTBOUND_PASSWORD 1024       /* bytes of [outbound] relay_password_file */

/* The SMTP client (src/outbound/smtpc*): what a remote server may send us, and the
 * pieces we send a message in */
#define LIMIT_SMTPC_REPLY_LINE 2048        /* one reply line with its CRLF (RFC 5321
					    * 4.5.3.1.5: 512; some servers send longer) */
#define LIMIT_SMTPC_REPLY_LINES 128        /* lines of one reply (an EHLO answer: ~20) */
#define LIMIT_SMTPC_REPLY_TEXT 1024        /* the one-line form kept of a reply for logs
					    * and DSNs; longer text is cut, marked "..." */
#define LIMIT_SMTPC_COMMAND 2048           /* one MAIL/RCPT line: a 256-octet path, ENVID
					    * (100) and ORCPT (500) xtext-encoded */
#define LIMIT_SMTPC_RCPTS 1000             /* recipients of one smtpc_send */
#define LIMIT_SMTPC_IO_BUF (64u << 10)     /* each of a session's read and write buffers */
#define LIMIT_SMTPC_BODY_CHUNK (64u << 10) /* message file bytes read at a time (DATA:
					    * dot-stuffed into at most twice as many) */
#define LIMIT_SMTPC_BDAT_CHUNK (1u << 20)  /* octets of one BDAT chunk (RFC 3030) */
#define LIMIT_SMTPC_TRANSCRIPT 16          /* lines of a session kept for log lines */
#define LIMIT_SMTPC_TRANSCRIPT_LINE 160    /* bytes of each of those */
#define LIMIT_SMTPC_ERROR 256              /* one line of error detail */
/* Defaults of [outbound] connect_timeout, command_timeout and data_timeout (seconds;
 * RFC 5321 4.5.3.2: 5 minutes per command, 10 for the end of the data) */
#define LIMIT_SMTPC_CONNECT_TIMEOUT 30
#define LIMIT_SMTPC_COMMAND_TIMEOUT 300
#define LIMIT_SMTPC_DATA_TIMEOUT 600

/* Delivery status notifications (src/deliver/deliver_dsn*, src/outbound/bounce*) */
#define LIMIT_BOUNCE_HEADERS (64u << 10)   /* the original's header section returned (cut
					    * at a line end) */
#define LIMIT_BOUNCE_FULL (10u << 20)      /* RET=FULL returns the whole original up to
					    * this size; a bigger one only its headers */
#define LIMIT_BOUNCE_DIAG 900              /* bytes of one Diagnostic-Code text: with its
					    * field name within a 998-octet line */
#define LIMIT_BOUNCE_LINE 78               /* DSN fields are folded at this width
					    * (RFC 5322 2.1.1) */
#define LIMIT_BOUNCE_ENVID 100             /* RFC 3461 4.4: an ENVID's characters */
#define LIMIT_BOUNCE_CHUNK (64u << 10)     /* bytes of the original (or of a report
					    * being signed) read at a time */

/* The outbound queue (src/outbound/queue*, <data>/queue/) */
#define LIMIT_QUEUE_PATH 4096              /* a path under <data>/queue (PATH_MAX) */
#define LIMIT_QUEUE_BATCH 1024             /* messages per queue_add_batch (deliver/'s
					    * batches hold at most 256) */
#define LIMIT_QUEUE_RCPTS 1000             /* remote recipients of one queued message */
#define LIMIT_QUEUE_ID_TRIES 8             /* fresh qids tried when a name is taken */
#define LIMIT_QUEUE_COPY_CHUNK (1u << 20)  /* bytes per copy_file_range when the file
					    * system refuses the hard link */
#define LIMIT_QUEUE_SYNCFS_DIRTY (16ull << 20) /* a batch's files are flushed with one
					    * syncfs(2) when the system holds at most this
					    * much unwritten data, else an fdatasync each */
#define LIMIT_QUEUE_BUSY_MS 10000          /* ms a statement waits for another process's
					    * transaction (`kasten queue` beside a server) */
#define LIMIT_QUEUE_LEASE_MSGS 256         /* messages in one lease */
#define LIMIT_QUEUE_ERROR 1024             /* bytes of a recipient's last error kept */
#define LIMIT_QUEUE_SHOW_ARENA (8u << 20)  /* `kasten queue show`: one message with
					    * LIMIT_QUEUE_RCPTS recipients and their errors */
#define LIMIT_QUEUE_DOOMED 1024            /* files of finished messages waiting for a
					    * durable commit before they are unlinked */

/* Metrics (src/core/metrics.c) */
#define LIMIT_METRICS_COLLECTORS 8         /* modules appending their own families */
#define LIMIT_METRICS_RENDER (128u << 10)  /* one /metrics answer: every family with
					    * every label and bucket, with room to spare */

/* JMAP (src/http/jmap*.c; RFC 8620 2: what the session resource advertises) */
#define LIMIT_JMAP_REQUEST_SIZE 10000000   /* maxSizeRequest: one API request body */
#define LIMIT_JMAP_DEPTH 16                /* nested arrays/objects of a request (jansson's
					    * own bound is 2048: ours is checked first) */
#define LIMIT_JMAP_CALLS 64                /* maxCallsInRequest */
#define LIMIT_JMAP_OBJECTS_GET 500         /* maxObjectsInGet */
#define LIMIT_JMAP_OBJECTS_SET 500         /* maxObjectsInSet */
#define LIMIT_JMAP_CONCURRENT 4            /* maxConcurrentRequests per account */
#define LIMIT_JMAP_CONCURRENT_UPLOAD 4     /* maxConcurrentUpload per account */
#define LIMIT_JMAP_QUERY_LIMIT 1000        /* ids a /query returns when asked for more */
#define LIMIT_JMAP_FILTER_DEPTH 4          /* nested FilterOperators of an Email/query (the
					    * request depth, LIMIT_JMAP_DEPTH, allows 5) */
#define LIMIT_JMAP_FILTER_CONDITIONS 64    /* conditions of one filter, all levels (each text
					    * one is a full-text search per mailbox) */
#define LIMIT_JMAP_SNIPPET_MESSAGE (1u << 20) /* SearchSnippet/get reads the text of messages
					    * up to this size when a body term is not in the
					    * stored preview; larger ones get a null preview */
#define LIMIT_JMAP_ARENA (64u << 20)       /* one request's strings and id lists */
#define LIMIT_JMAP_BODY_VALUE (4u << 20)   /* bytes of one Email bodyValue (RFC 8621 4.2): a
					    * longer one is cut there, isTruncated */
#define LIMIT_JMAP_EMAIL_ARENA (48u << 20) /* Email/get, Email/parse: one message's tree,
					    * header and decoded values at a time */
#define LIMIT_JMAP_EVENT_PING_MIN 30       /* seconds: the least ping interval we honour */
#define LIMIT_JMAP_EVENT_PING_MAX 3600     /* seconds: the longest (RFC 8620 7.3: >= 300) */
#define LIMIT_JMAP_SESSION_DAYS 30         /* [http] session_days default (conf) */
#define LIMIT_JMAP_SESSION_DAYS_MAX 3650   /* ... and the longest it may be set to */
#define LIMIT_JMAP_LOGIN_FIELD 1024        /* username or password in POST /jmap/login */
#define LIMIT_JMAP_SLOT_ACCOUNTS 4096      /* accounts with requests running at once */
/* Email/set create: what one value of an Email object may be for the message written
 * from it (src/http/jmap_email_build*.c; invalidProperties past these). Each keeps a
 * header line that holds it under RFC 5322's 998 octets. */
#define LIMIT_JMAP_BUILD_FIELD_NAME 76     /* a header:X field name */
#define LIMIT_JMAP_BUILD_ADDR 512          /* an email, msg-id or URL (one token) */
#define LIMIT_JMAP_BUILD_ATOM 200          /* a word written unencoded (longer: RFC 2047) */
#define LIMIT_JMAP_BUILD_PART_NAME 1000    /* a body part's name (RFC 2231 sections) */
#define LIMIT_JMAP_BUILD_CID 250           /* a body part's cid */
#define LIMIT_JMAP_BUILD_LOCATION 900      /* a body part's location */
#define LIMIT_JMAP_BUILD_TOKEN 64          /* charset, disposition, a language tag */
#define LIMIT_JMAP_BUILD_TYPE 127          /* each half of a part's type/subtype */
#define LIMIT_JMAP_BUILD_LANGUAGES 16      /* language tags of a body part */
#define LIMIT_JMAP_BUILD_BLOBS 64          /* blob parts of one Email: each holds an open
					    * file while the message is written */

#endif
