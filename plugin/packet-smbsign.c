/* packet-smbsign.c
 * "SMB Signing" (smbsign): a Wireshark 4.0 postdissector that annotates
 * every SMB and SMB2 PDU with its connection's signing posture, the
 * message's signing status and the findings that concern it, using
 * libsmbsign through include/smbsign.h only (linked statically).
 *
 * It asks for the first field of every SMB1 and SMB2 header and TCP's
 * connection expert infos (set_postdissector_wanted_hfids) and reads each
 * PDU's bytes from that field's data source, so PDUs reassembled across
 * TCP segments, and decrypted ones, are seen. Where a PDU ends it reads
 * from the NBSS header before it, not from Wireshark's item lengths, so a
 * compound is fed once however Wireshark laid out its items. State is
 * fed on the first pass only and cached per frame, so re-dissection (GUI,
 * -2) gives the same answers as one pass. Every name it shows comes from
 * the library's tables.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#define WS_BUILD_DLL
#include <string.h>

#include <wireshark.h>
#include <epan/conversation.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <wsutil/to_str.h>
#include <epan/proto.h>
#include <epan/proto_data.h>
#include <epan/uat.h>
#include <epan/to_str.h>
#include <epan/wmem_scopes.h>
#include <ws_version.h>

#include "smbsign.h"

/* build.sh passes Cargo's version; otherwise the header's. */
#ifndef VERSION
#define SMBSIGN_STR_(x) #x
#define SMBSIGN_STR(x) SMBSIGN_STR_(x)
#define VERSION                                                                                    \
    SMBSIGN_STR(SMBSIGN_VERSION_MAJOR) "." SMBSIGN_STR(SMBSIGN_VERSION_MINOR) "." SMBSIGN_STR(     \
        SMBSIGN_VERSION_PATCH)
#endif

/* The Wireshark releases the source builds against (docs/wireshark.md):
 * 4.0 (Debian 12), 4.4 (Debian 13) and 4.6. Each build loads only in the
 * release it was built for (plugin_want_major/minor). */
#define SMBSIGN_WS_AT_LEAST(major, minor)                                                          \
    (WIRESHARK_VERSION_MAJOR > (major) ||                                                          \
     (WIRESHARK_VERSION_MAJOR == (major) && WIRESHARK_VERSION_MINOR >= (minor)))

#if SMBSIGN_WS_AT_LEAST(4, 4)
#include <wsutil/plugins.h>
/* tvb_get_guint8 is deprecated from 4.4 on. */
#define smbsign_tvb_get_u8 tvb_get_uint8
#else
#define smbsign_tvb_get_u8 tvb_get_guint8
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);
#if SMBSIGN_WS_AT_LEAST(4, 4)
/* What kind of plugin this is (`tshark -G plugins` says "dissector"). */
WS_DLL_PUBLIC uint32_t plugin_describe(void);
uint32_t plugin_describe(void)
{
    return WS_PLUGIN_DESC_DISSECTOR;
}
#endif

#define MAX_PDUS_PER_FRAME 64
/* The smallest SMB header (SMB1's); an NBSS length below it is not one. */
#define SMB1_HEADER_LEN 32
#define MAX_MSGS_PER_PDU 16

static int proto_smbsign = -1;
/* What the postdissector asks Wireshark for: the first field of each SMB1
 * and SMB2 header (where a PDU starts, in which data source), and TCP's
 * connection expert infos (SYN, SYN+ACK, FIN, RST). A wanted item is
 * built for real wherever it occurs: header fields, not the smb/smb2
 * protocol items (whose labels are formatted), and the expert infos, which
 * occur on those few segments only, not tcp.flags, which is on every one. */
static int hf_smb_server_component = -1;
static int hf_smb2_protocol_id = -1;
static int hf_tcp_syn = -1;
static int hf_tcp_synack = -1;
static int hf_tcp_fin = -1;
static int hf_tcp_rst = -1;
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

static int hf_server_signing = -1;
static int hf_client_signing = -1;
static int hf_server_security_mode = -1;
static int hf_client_security_mode = -1;
static int hf_server_mode_enabled = -1;
static int hf_server_mode_required = -1;
static int hf_client_mode_enabled = -1;
static int hf_client_mode_required = -1;
static int hf_security_mode_reading = -1;
static int hf_dialect = -1;
static int hf_dialect_name = -1;
static int hf_signing_algorithm = -1;
static int hf_signed = -1;
static int hf_signature_status = -1;
static int hf_session_id = -1;
static int hf_session_guest = -1;
static int hf_session_anonymous = -1;
static int hf_finding = -1;
static int hf_finding_text = -1;
static int hf_finding_evidence = -1;
static int hf_finding_fix = -1;
static gint ett_finding = -1;
static int hf_expected_signature = -1;
static int hf_relay_peer_frame = -1;

static gint ett_smbsign = -1;
static gint ett_server_mode = -1;
static gint ett_client_mode = -1;

/* One expert info per finding code (index = code - 1), named and summed up
 * from the library's tables at registration. */
static expert_field ei_finding[SMBSIGN_FINDING_COUNT];
static gchar *ei_names[SMBSIGN_FINDING_COUNT];

/* Value strings filled from the library's name functions. */
static value_string signing_vals[SMBSIGN_SIGNING_COUNT + 1];
static value_string mac_vals[SMBSIGN_MAC_COUNT + 1];
static value_string verdict_vals[SMBSIGN_VERDICT_COUNT + 1];
static value_string finding_vals[SMBSIGN_FINDING_COUNT + 1];
#define MAX_DIALECTS 32
static value_string dialect_vals[MAX_DIALECTS + 1];

/* Preferences: secrets for signature verification. */
static const char *pref_passwords = "";
static const char *pref_nt_hashes = "";
static const char *pref_session_keys = "";
static const char *pref_credentials_file = "";
static const char *pref_keytab = "";
/* Preference booleans and heuristic results: gboolean before 4.4, bool since. */
#if SMBSIGN_WS_AT_LEAST(4, 4)
typedef bool smbsign_bool;
#else
typedef gboolean smbsign_bool;
#endif
typedef smbsign_bool smbsign_heur_result;
/* Look for SMB on TCP ports other than 139 and 445 (the heuristic below). */
static smbsign_bool pref_other_ports = TRUE;

/* The same secrets as tables (Wireshark's smb2_seskey_list form): session
 * id -> key, and user -> password. */
typedef struct {
    char *session_id;
    char *key;
} key_uat_t;
typedef struct {
    char *user;
    char *password;
} password_uat_t;
static key_uat_t *key_uat;
static guint n_key_uat;
static password_uat_t *password_uat;
static guint n_password_uat;
UAT_CSTRING_CB_DEF(key_uat, session_id, key_uat_t)
UAT_CSTRING_CB_DEF(key_uat, key, key_uat_t)
UAT_CSTRING_CB_DEF(password_uat, user, password_uat_t)
UAT_CSTRING_CB_DEF(password_uat, password, password_uat_t)

static dissector_handle_t smbsign_handle;
static smbsign_analyzer *analyzer;
/* Connections whose end (FIN/RST) was already told to the analyzer. */
static wmem_map_t *ended_conns;
/* Connections whose endpoints were named to the analyzer. */
static wmem_map_t *named_conns;

/* What one PDU looked like after it was fed (first pass), kept per frame. */
/* A finding's text, apart: what was seen, the values compared ("field:
 * seen X, expected Y") and the fixes, one per side and setting ("client,
 * Samba: …"), each shown as
 * its own child items, so none is cut by Wireshark's label limit. */
struct finding_detail {
    const gchar *observation;
    guint n_evidence, n_fixes;
    const gchar **evidence;
    const gchar **fixes;
};

/* A connection's posture at some point, as shown; shared by the PDUs it
 * held for (it changes a few times per connection, not per PDU). */
typedef struct {
    smbsign_signing server_signing, client_signing;
    gboolean has_server_mode, has_client_mode;
    guint16 server_mode, client_mode;
    gchar dialect[32];
    guint16 dialect_code;
    guint32 mac;
    gboolean server_enabled, server_required, client_enabled, client_required;
} posture_view_t;

typedef struct {
    smbsign_pdu_annotation msg;
    /* Connection posture at that point. */
    const posture_view_t *posture;
    gboolean session_known, session_guest, session_anonymous;
    /* What each finding showed (index = code - 1), for its child items:
     * NULL when the message has no finding (most), else
     * SMBSIGN_FINDING_COUNT entries. */
    struct finding_detail **finding_detail;
    /* Not a PDU: the TCP FIN/RST that ended the connection. */
    gboolean is_end;
} pdu_result_t;

typedef struct {
    guint count;
    pdu_result_t *pdus;
} frame_result_t;

/* A frame's results while it is dissected the first time; room for one
 * more PDU's messages past the PDU limit, and the connection's end. */
typedef struct {
    guint count;
    pdu_result_t pdus[MAX_PDUS_PER_FRAME + MAX_MSGS_PER_PDU + 1];
} frame_builder_t;

static void builder_add(frame_builder_t *b, const pdu_result_t *res)
{
    if (b->count < G_N_ELEMENTS(b->pdus))
        b->pdus[b->count++] = *res;
}

static void set_finding_detail(pdu_result_t *res, guint32 code, struct finding_detail *d)
{
    if (!res->finding_detail)
        res->finding_detail = wmem_alloc0(wmem_file_scope(),
                                          SMBSIGN_FINDING_COUNT * sizeof(struct finding_detail *));
    res->finding_detail[code - 1] = d;
}

static const struct finding_detail *finding_detail(const pdu_result_t *res, guint32 code)
{
    return res->finding_detail ? res->finding_detail[code - 1] : NULL;
}

/* The verdict shown: without a key a signed message reads no-key. */
static guint32 signature_status(const smbsign_pdu_annotation *m)
{
    if (m->verdict == SMBSIGN_VERDICT_NOT_VERIFIED)
        return m->is_signed ? SMBSIGN_VERDICT_NO_KEY : SMBSIGN_VERDICT_NOT_SIGNED;
    return m->verdict;
}

/* The KB's reading of an SMB1 NEGOTIATE response SecurityMode. */
static const char *kb_reading(const smbsign_pdu_annotation *m)
{
    if (m->protocol == SMBSIGN_PROTOCOL_SMB1) {
        if (m->signing_required)
            return "Security Mode 15-style: SMB signing is enabled and required at the server";
        if (m->signing_enabled)
            return "Security Mode 7-style: SMB signing is enabled and not required at the server";
        return "Security Mode 3-style: SMB signing is disabled at the server";
    }
    if (m->signing_required)
        return "SMB2+ SecurityMode: signing required";
    return "SMB2+ SecurityMode: signing enabled, not required (SMB2+ always allows signing)";
}

/* The connection posture a result shows. */
/* The shown posture for `posture`, shared with the PDUs before it on the
 * same connection while it did not change (a small cache by connection
 * id; a miss only costs a copy). */
#define POSTURE_CACHE_SLOTS 64
typedef struct {
    guint64 conn_id;
    const posture_view_t *view;
} posture_cache_entry;
static posture_cache_entry posture_cache[POSTURE_CACHE_SLOTS];

static const posture_view_t *posture_view(guint64 conn_id, const smbsign_posture *posture)
{
    posture_view_t v;
    memset(&v, 0, sizeof v); /* padding too: views are compared whole */
    v.server_signing = posture->server_signing;
    v.client_signing = posture->client_signing;
    v.has_server_mode = posture->has_server_security_mode;
    v.server_mode = posture->server_security_mode;
    v.has_client_mode = posture->has_client_security_mode;
    v.client_mode = posture->client_security_mode;
    g_strlcpy(v.dialect, posture->dialect, sizeof v.dialect);
    v.dialect_code = posture->dialect_code;
    v.mac = posture->signing_mac;
    v.server_enabled = posture->server_signing_enabled;
    v.server_required = posture->server_signing_required;
    v.client_enabled = posture->client_signing_enabled;
    v.client_required = posture->client_signing_required;
    posture_cache_entry *e = &posture_cache[conn_id % POSTURE_CACHE_SLOTS];
    if (e->view && e->conn_id == conn_id && memcmp(e->view, &v, sizeof v) == 0)
        return e->view;
    e->conn_id = conn_id;
    e->view = (const posture_view_t *)wmem_memdup(wmem_file_scope(), &v, sizeof v);
    return e->view;
}

/* Feed one PDU (first pass) and record the result. */
/* "addr:port" ("[v6]:port") of one side of this packet. */
static gchar *endpoint(packet_info *pinfo, const address *addr, guint32 port)
{
    gchar *a = address_to_str(pinfo->pool, addr);
    if (addr->type == AT_IPv6)
        return wmem_strdup_printf(pinfo->pool, "[%s]:%u", a, port);
    return wmem_strdup_printf(pinfo->pool, "%s:%u", a, port);
}

/* Tell the analyzer a connection's endpoints once: relay detection needs
 * to know that two connections went to different servers. */
static void name_endpoints(packet_info *pinfo, guint64 conn_id, guint32 direction)
{
    if (wmem_map_contains(named_conns, &conn_id))
        return;
    gchar *src = endpoint(pinfo, &pinfo->src, pinfo->srcport);
    gchar *dst = endpoint(pinfo, &pinfo->dst, pinfo->destport);
    gboolean to_server = direction == SMBSIGN_TO_SERVER;
    if (smbsign_analyzer_set_endpoints(analyzer, conn_id, to_server ? src : dst,
                                       to_server ? dst : src) != SMBSIGN_OK)
        return;
    guint64 *key = wmem_new(wmem_file_scope(), guint64);
    *key = conn_id;
    wmem_map_insert(named_conns, key, key);
}

/* Finding `index` of `conn` as file-scoped texts (the snapshot goes away). */
static struct finding_detail *finding_detail_of(const smbsign_connection *conn, size_t index)
{
    wmem_allocator_t *scope = wmem_file_scope();
    struct finding_detail *d = wmem_new0(scope, struct finding_detail);
    const char *observation = smbsign_connection_finding_observation(conn, index);
    d->observation = wmem_strdup(scope, observation ? observation : "");
    size_t n = smbsign_connection_finding_evidence_count(conn, index);
    d->evidence = wmem_alloc0_array(scope, const gchar *, n ? n : 1);
    for (size_t k = 0; k < n; k++) {
        smbsign_finding_evidence e;
        if (smbsign_connection_get_finding_evidence(conn, index, k, &e) == SMBSIGN_OK)
            d->evidence[d->n_evidence++] =
                wmem_strdup_printf(scope, "%s: seen %s, expected %s", e.field ? e.field : "",
                                   e.seen ? e.seen : "", e.expected ? e.expected : "");
    }
    /* One item per side and setting: "server, Group Policy: …". */
    n = smbsign_connection_finding_fix_count(conn, index);
    size_t settings = 0;
    for (size_t k = 0; k < n; k++)
        settings += smbsign_connection_finding_fix_part_count(conn, index, k);
    d->fixes = wmem_alloc0_array(scope, const gchar *, settings ? settings : 1);
    for (size_t k = 0; k < n; k++) {
        smbsign_finding_fix x;
        if (smbsign_connection_get_finding_fix(conn, index, k, &x) != SMBSIGN_OK)
            continue;
        const char *side = x.side == SMBSIGN_FIX_CLIENT ? "client" : "server";
        size_t parts = smbsign_connection_finding_fix_part_count(conn, index, k);
        for (size_t j = 0; j < parts && d->n_fixes < settings; j++) {
            smbsign_fix_part p;
            if (smbsign_connection_get_finding_fix_part(conn, index, k, j, &p) == SMBSIGN_OK)
                d->fixes[d->n_fixes++] = wmem_strdup_printf(
                    scope, "%s, %s: %s", side, p.label ? p.label : "", p.text ? p.text : "");
        }
    }
    return d;
}

static void feed_pdu(packet_info *pinfo, guint64 conn_id, const guint8 *data, guint len,
                     frame_builder_t *out)
{
    smbsign_pdu_annotation msgs[MAX_MSGS_PER_PDU];
    size_t n = 0;
    /* The header's response bit, read by the library (transform headers
     * have none: they count as requests here). */
    guint32 direction = smbsign_pdu_direction(data, len);
    if (direction > SMBSIGN_TO_CLIENT)
        direction = SMBSIGN_TO_SERVER;
    name_endpoints(pinfo, conn_id, direction);
    smbsign_result r = smbsign_analyzer_feed(analyzer, conn_id, direction, pinfo->num, data, len,
                                             msgs, MAX_MSGS_PER_PDU, &n);
    /* PARTIAL: a compound with a bad part still annotates the others. */
    if (r != SMBSIGN_OK && r != SMBSIGN_PARTIAL)
        return;
    smbsign_posture posture;
    if (smbsign_analyzer_get_posture(analyzer, conn_id, &posture) != SMBSIGN_OK)
        return;
    /* Finding texts only when a message carries findings (rare): building
     * the snapshot costs more than the posture. */
    smbsign_connection *conn = NULL;
    smbsign_connection_info info;
    memset(&info, 0, sizeof info);
    for (size_t k = 0; k < n && k < MAX_MSGS_PER_PDU; k++) {
        pdu_result_t res;
        memset(&res, 0, sizeof res);
        res.msg = msgs[k];
        res.posture = posture_view(conn_id, &posture);
        res.session_known = msgs[k].session_known;
        res.session_guest = msgs[k].session_guest;
        res.session_anonymous = msgs[k].session_anonymous;
        if (msgs[k].finding_mask && !conn &&
            (smbsign_analyzer_connection(analyzer, conn_id, &conn) != SMBSIGN_OK ||
             smbsign_connection_get_info(conn, &info) != SMBSIGN_OK)) {
            smbsign_connection_free(conn);
            conn = NULL;
        }
        for (size_t f = 0; conn && msgs[k].finding_mask && f < info.finding_count; f++) {
            smbsign_finding finding;
            if (smbsign_connection_get_finding(conn, f, &finding) == SMBSIGN_OK &&
                finding.code >= 1 && finding.code <= SMBSIGN_FINDING_COUNT &&
                (msgs[k].finding_mask & (1u << (finding.code - 1))) &&
                !finding_detail(&res, finding.code))
                set_finding_detail(&res, finding.code, finding_detail_of(conn, f));
        }
        builder_add(out, &res);
    }
    smbsign_connection_free(conn);
}

/* A relayed AUTHENTICATE: a link to the other leg's frame. Asked at
 * dissection time, not cached: after the first pass the analyzer knows
 * both legs, so the earlier (victim's) frame links too under -2 and in
 * the GUI. */
/* A SESSION_SETUP request (SMB2) or SESSION_SETUP_ANDX request (SMB1):
 * where a relay's other leg is shown. */
static gboolean is_setup_request(const smbsign_pdu_annotation *m)
{
    return !m->is_response && ((m->protocol == SMBSIGN_PROTOCOL_SMB2 && m->command == 0x0001) ||
                               (m->protocol == SMBSIGN_PROTOCOL_SMB1 && m->command == 0x73));
}

static void add_relay_peer(tvbuff_t *tvb, packet_info *pinfo, proto_tree *st, const pdu_result_t *res)
{
    const smbsign_pdu_annotation *m = &res->msg;
    gboolean setup_request = is_setup_request(m);
    guint64 peer = 0;
    if (!setup_request || smbsign_analyzer_relay_peer(analyzer, pinfo->num, &peer) != SMBSIGN_OK ||
        peer > G_MAXUINT32)
        return;
    proto_item *pi = proto_tree_add_uint(st, hf_relay_peer_frame, tvb, 0, 0, (guint32)peer);
    proto_item_set_generated(pi);
    guint relay = SMBSIGN_FINDING_NTLM_RELAY;
    if (!(res->msg.finding_mask & (1u << (relay - 1))))
        expert_add_info_format(pinfo, pi, &ei_finding[relay - 1], "%s: %s (other leg: frame %u)",
                               smbsign_finding_code_name(relay), smbsign_finding_code_summary(relay),
                               (guint32)peer);
}

/* Longest text one item carries: Wireshark cuts labels at 240 bytes
 * (ITEM_LABEL_LENGTH), field name included. */
#define ITEM_TEXT_MAX 180

/* `text` as one or more string items of `hf`, each within the label
 * limit: cut at a space where there is one, never inside a UTF-8
 * character; the later parts start with "…". */
static void add_text_items(packet_info *pinfo, proto_tree *t, int hf, tvbuff_t *tvb, const char *text)
{
    size_t len = strlen(text), off = 0;
    gboolean first = TRUE;
    while (off < len) {
        size_t n = len - off;
        if (n > ITEM_TEXT_MAX) {
            n = ITEM_TEXT_MAX;
            size_t space = n;
            while (space > ITEM_TEXT_MAX / 2 && text[off + space] != ' ')
                space--;
            if (text[off + space] == ' ')
                n = space;
            while (n > 1 && (text[off + n] & 0xC0) == 0x80)
                n--;
        }
        gchar *part = wmem_strndup(pinfo->pool, text + off, n);
        proto_item *it = first ? proto_tree_add_string(t, hf, tvb, 0, 0, part)
                               : proto_tree_add_string_format_value(t, hf, tvb, 0, 0, part,
                                                                    "\u2026%s", part);
        proto_item_set_generated(it);
        first = FALSE;
        off += n;
        while (off < len && text[off] == ' ')
            off++;
    }
}

/* The findings that concern this message (or this connection end). */
static void add_findings(tvbuff_t *tvb, packet_info *pinfo, proto_tree *st, const pdu_result_t *res)
{
    const smbsign_pdu_annotation *m = &res->msg;
    for (guint code = 1; code <= SMBSIGN_FINDING_COUNT; code++) {
        if (!(m->finding_mask & (1u << (code - 1))))
            continue;
        proto_item *fi = proto_tree_add_uint(st, hf_finding, tvb, 0, 0, code);
        proto_item_set_generated(fi);
        /* The expert info says what it is, short; the item's children say
         * what was seen and what to change. */
        expert_add_info_format(pinfo, fi, &ei_finding[code - 1], "%s: %s",
                               smbsign_finding_code_name(code), smbsign_finding_code_summary(code));
        const struct finding_detail *d = finding_detail(res, code);
        if (!d)
            continue;
        proto_tree *ft = proto_item_add_subtree(fi, ett_finding);
        add_text_items(pinfo, ft, hf_finding_text, tvb, d->observation);
        for (guint k = 0; k < d->n_evidence; k++)
            add_text_items(pinfo, ft, hf_finding_evidence, tvb, d->evidence[k]);
        for (guint k = 0; k < d->n_fixes; k++)
            add_text_items(pinfo, ft, hf_finding_fix, tvb, d->fixes[k]);
    }
}

/* A side's SecurityMode with its signing bits, as the library read them. */
static void add_mode(proto_tree *st, tvbuff_t *tvb, int hf, gint ett, int hf_enabled,
                     int hf_required, guint16 mode, gboolean enabled, gboolean required)
{
    proto_item *mi = proto_tree_add_uint(st, hf, tvb, 0, 0, mode);
    proto_item_set_generated(mi);
    proto_tree *mt = proto_item_add_subtree(mi, ett);
    proto_item_set_generated(proto_tree_add_boolean(mt, hf_enabled, tvb, 0, 0, enabled));
    proto_item_set_generated(proto_tree_add_boolean(mt, hf_required, tvb, 0, 0, required));
}

/* Whether the PDU carries expert infos (a finding, a forged signature, a
 * relay's other leg on a SESSION_SETUP request): those are added even when
 * nothing asks for the tree (tshark -z expert, the GUI's expert dialog). */
static gboolean has_expert_infos(const pdu_result_t *res)
{
    const smbsign_pdu_annotation *m = &res->msg;
    return m->finding_mask || m->verdict == SMBSIGN_VERDICT_FORGED || is_setup_request(m) ||
           res->is_end;
}

/* Whether anything wants smbsign's items: a visible tree (-V, the GUI's
 * details), or an smbsign field primed by a filter, a column, a coloring
 * rule or -e (priming a field marks its protocol too). Not
 * proto_field_is_referenced(tree, proto_smbsign): with real protocol
 * items (tshark -T fields), it says yes for every protocol. */
static gboolean tree_wanted(proto_tree *tree)
{
    if (!tree)
        return FALSE;
    if (PTREE_DATA(tree)->visible)
        return TRUE;
    header_field_info *h = proto_registrar_get_nth(proto_smbsign);
    return h && h->ref_type != HF_REF_TYPE_NONE;
}

static void add_tree(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const pdu_result_t *res)
{
    const smbsign_pdu_annotation *m = &res->msg;
    const posture_view_t *p = res->posture;
    /* Nothing shows the tree and no smbsign field is asked for (a filter,
     * a column, -e): building the items of an ordinary PDU would be work
     * thrown away, on most frames of a capture. */
    if (!tree_wanted(tree) && !has_expert_infos(res))
        return;
    proto_item *ti = proto_tree_add_item(tree, proto_smbsign, tvb, 0, 0, ENC_NA);
    proto_item_append_text(ti, ", %s",
                           res->is_end ? "connection ended"
                                       : smbsign_verdict_name(signature_status(m)));
    proto_tree *st = proto_item_add_subtree(ti, ett_smbsign);
    if (p->server_signing != SMBSIGN_SIGNING_UNKNOWN)
        proto_item_set_generated(
            proto_tree_add_uint(st, hf_server_signing, tvb, 0, 0, p->server_signing));
    if (p->client_signing != SMBSIGN_SIGNING_UNKNOWN)
        proto_item_set_generated(
            proto_tree_add_uint(st, hf_client_signing, tvb, 0, 0, p->client_signing));
    if (p->has_server_mode)
        add_mode(st, tvb, hf_server_security_mode, ett_server_mode, hf_server_mode_enabled,
                 hf_server_mode_required, p->server_mode, p->server_enabled,
                 p->server_required);
    if (p->has_client_mode)
        add_mode(st, tvb, hf_client_security_mode, ett_client_mode, hf_client_mode_enabled,
                 hf_client_mode_required, p->client_mode, p->client_enabled,
                 p->client_required);
    if (m->has_security_mode && m->is_response)
        proto_item_set_generated(
            proto_tree_add_string(st, hf_security_mode_reading, tvb, 0, 0, kb_reading(m)));
    if (p->dialect_code)
        proto_item_set_generated(
            proto_tree_add_uint(st, hf_dialect, tvb, 0, 0, p->dialect_code));
    if (p->dialect[0])
        proto_item_set_generated(proto_tree_add_string(st, hf_dialect_name, tvb, 0, 0, p->dialect));
    if (p->mac)
        proto_item_set_generated(proto_tree_add_uint(st, hf_signing_algorithm, tvb, 0, 0, p->mac));
    if (res->is_end) {
        add_findings(tvb, pinfo, st, res);
        return;
    }
    proto_item_set_generated(proto_tree_add_boolean(st, hf_signed, tvb, 0, 0, m->is_signed));
    proto_item *status =
        proto_tree_add_uint(st, hf_signature_status, tvb, 0, 0, signature_status(m));
    proto_item_set_generated(status);
    if (m->verdict == SMBSIGN_VERDICT_FORGED) {
        guint n = m->signature_len ? m->signature_len : 16;
        if (m->has_expected_signature) {
            proto_item *e = proto_tree_add_bytes_with_length(st, hf_expected_signature, tvb, 0, 0,
                                                             m->expected_signature, (gint)n);
            proto_item_set_generated(e);
            proto_item_append_text(status, " (should be %s)",
                                   bytes_to_str(pinfo->pool, m->expected_signature, n));
        }
        expert_add_info_format(pinfo, status, &ei_finding[SMBSIGN_FINDING_BAD_SIGNATURE - 1],
                               "Bad signature: the MAC does not match the session key (should be %s)",
                               bytes_to_str(pinfo->pool, m->expected_signature, n));
    }
    if (m->session_id)
        proto_item_set_generated(proto_tree_add_uint64(st, hf_session_id, tvb, 0, 0, m->session_id));
    if (res->session_known) {
        proto_item_set_generated(
            proto_tree_add_boolean(st, hf_session_guest, tvb, 0, 0, res->session_guest));
        proto_item_set_generated(
            proto_tree_add_boolean(st, hf_session_anonymous, tvb, 0, 0, res->session_anonymous));
    }
    add_findings(tvb, pinfo, st, res);
    add_relay_peer(tvb, pinfo, st, res);
}

/* Where the PDU that starts at `start` ends: the NBSS session-message
 * header in front of it says (24-bit length), when there is one that
 * covers at least an SMB1 header; a decrypted PDU has none, and the rest
 * of its data source is the PDU (a compound's later parts are skipped by
 * the caller). */
static guint pdu_length(tvbuff_t *ds, gint start, guint avail)
{
    if (start >= 4 && tvb_captured_length_remaining(ds, start - 4) >= 4 &&
        smbsign_tvb_get_u8(ds, start - 4) == 0) {
        guint len = tvb_get_ntoh24(ds, start - 3);
        if (len >= SMB1_HEADER_LEN)
            return len < avail ? len : avail;
    }
    return avail;
}

/* Feed each PDU whose header field Wireshark decoded (`items`), once: a
 * header inside the PDU fed before it (a later part of a compound) is that
 * PDU. */
static void collect(packet_info *pinfo, GPtrArray *items, guint64 conn_id, frame_builder_t *out)
{
    if (!items)
        return;
    tvbuff_t *last_ds = NULL;
    gint last_end = 0;
    for (guint i = 0; i < items->len && out->count < MAX_PDUS_PER_FRAME; i++) {
        field_info *fi = (field_info *)g_ptr_array_index(items, i);
        if (!fi || !fi->ds_tvb || fi->start < 0)
            continue;
        if (fi->ds_tvb == last_ds && fi->start < last_end)
            continue;
        guint avail = tvb_captured_length_remaining(fi->ds_tvb, fi->start);
        guint len = pdu_length(fi->ds_tvb, fi->start, avail);
        if (len < 4)
            continue;
        last_ds = fi->ds_tvb;
        last_end = fi->start + (gint)len;
        const guint8 *data = tvb_get_ptr(fi->ds_tvb, fi->start, len);
        feed_pdu(pinfo, conn_id, data, len, out);
    }
}

/* The items of a wanted field in this frame; NULL for a field this
 * Wireshark does not have. */
static GPtrArray *finfo_array(proto_tree *tree, int hf)
{
    return hf > 0 ? proto_get_finfo_ptr_array(tree, hf) : NULL;
}

static gboolean has_item(proto_tree *tree, int hf)
{
    GPtrArray *items = finfo_array(tree, hf);
    return items && items->len > 0;
}

/* The frame's SYN, FIN and RST, as TCP_* bits, from TCP's expert infos. */
static guint32 tcp_flags(proto_tree *tree)
{
    return (has_item(tree, hf_tcp_syn) || has_item(tree, hf_tcp_synack) ? TCP_SYN : 0) |
           (has_item(tree, hf_tcp_fin) ? TCP_FIN : 0) | (has_item(tree, hf_tcp_rst) ? TCP_RST : 0);
}

/* The conversation of a TCP frame, remembered per 4-tuple (either
 * direction) for the first pass: Wireshark's lookup costs more than the
 * rest of the plugin's work on a PDU. A remembered conversation is used
 * only while it is the newest of its key (nothing follows it on its hash
 * chain: TCP starts a new one when the ports are reused), and is
 * forgotten on a SYN, FIN or RST; tuples keyed on more than addresses and
 * ports (a dissector's own conversation elements, 4.4's deinterlacing by
 * interface or VLAN) are never cached. */
#define CONN_CACHE_SLOTS 256
typedef struct {
    conversation_t *conv;
    guint32 port_a, port_b;
    int type_a, type_b;
    guint8 len_a, len_b;
    guint8 addr_a[16], addr_b[16];
} conn_cache_entry;
static conn_cache_entry conn_cache[CONN_CACHE_SLOTS];

static gboolean cacheable(const packet_info *pinfo)
{
    if (pinfo->ptype != PT_TCP || pinfo->use_conv_addr_port_endpoints || pinfo->conv_elements ||
        pinfo->src.len > 16 || pinfo->dst.len > 16 || !pinfo->src.data || !pinfo->dst.data)
        return FALSE;
#if SMBSIGN_WS_AT_LEAST(4, 4)
    if (prefs.conversation_deinterlacing_key)
        return FALSE;
#endif
    return TRUE;
}

/* The slot of the frame's tuple: the same for both directions. */
static conn_cache_entry *conn_slot(const packet_info *pinfo)
{
    guint32 h = (pinfo->srcport ^ pinfo->destport) * 2654435761u;
    const guint8 *s = (const guint8 *)pinfo->src.data, *d = (const guint8 *)pinfo->dst.data;
    for (int k = 0; k < pinfo->src.len; k++)
        h += s[k];
    for (int k = 0; k < pinfo->dst.len; k++)
        h += d[k];
    return &conn_cache[(h ^ (h >> 16)) % CONN_CACHE_SLOTS];
}

static gboolean is_side(const address *a, guint32 port, int type, guint8 len, const guint8 *data,
                        guint32 cached_port)
{
    return port == cached_port && a->type == type && a->len == len && memcmp(a->data, data, len) == 0;
}

static gboolean same_tuple(const conn_cache_entry *e, const packet_info *pinfo)
{
    return e->conv && !e->conv->next &&
           ((is_side(&pinfo->src, pinfo->srcport, e->type_a, e->len_a, e->addr_a, e->port_a) &&
             is_side(&pinfo->dst, pinfo->destport, e->type_b, e->len_b, e->addr_b, e->port_b)) ||
            (is_side(&pinfo->src, pinfo->srcport, e->type_b, e->len_b, e->addr_b, e->port_b) &&
             is_side(&pinfo->dst, pinfo->destport, e->type_a, e->len_a, e->addr_a, e->port_a)));
}

static void conn_cache_forget(const packet_info *pinfo)
{
    if (cacheable(pinfo)) {
        conn_cache_entry *e = conn_slot(pinfo);
        if (same_tuple(e, pinfo))
            e->conv = NULL;
    }
}

/* The analyzer's connection id for the frame: its conversation's index. */
static guint64 conn_id_of(packet_info *pinfo)
{
    conn_cache_entry *e = cacheable(pinfo) ? conn_slot(pinfo) : NULL;
    if (e && same_tuple(e, pinfo))
        return e->conv->conv_index;
    conversation_t *conv = find_or_create_conversation(pinfo);
    guint64 conn_id = conv ? conv->conv_index : 0;
    if (e && conv) {
        e->conv = conv;
        e->port_a = pinfo->srcport;
        e->port_b = pinfo->destport;
        e->type_a = pinfo->src.type;
        e->type_b = pinfo->dst.type;
        e->len_a = (guint8)pinfo->src.len;
        e->len_b = (guint8)pinfo->dst.len;
        memcpy(e->addr_a, pinfo->src.data, (size_t)pinfo->src.len);
        memcpy(e->addr_b, pinfo->dst.data, (size_t)pinfo->dst.len);
    }
    return conn_id;
}

/* A TCP FIN or RST on a connection the analyzer was fed: tell it the
 * connection ended (once), so the KB's "closed right after NEGOTIATE"
 * scenario is judged, and show that finding on this frame. */
static void on_tcp_end(packet_info *pinfo, guint32 flags, frame_builder_t *out)
{
    if (!(flags & (TCP_FIN | TCP_RST)))
        return;
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    if (!conv)
        return;
    guint64 conn_id = conv->conv_index;
    if (wmem_map_contains(ended_conns, &conn_id) ||
        smbsign_analyzer_mark_ended(analyzer, conn_id) != SMBSIGN_OK)
        return; /* told before, or not an SMB connection */
    guint64 *key = wmem_new(wmem_file_scope(), guint64);
    *key = conn_id;
    wmem_map_insert(ended_conns, key, key);

    smbsign_connection *conn = NULL;
    smbsign_connection_info info;
    smbsign_posture posture;
    if (smbsign_analyzer_get_posture(analyzer, conn_id, &posture) != SMBSIGN_OK ||
        smbsign_analyzer_connection(analyzer, conn_id, &conn) != SMBSIGN_OK ||
        smbsign_connection_get_info(conn, &info) != SMBSIGN_OK) {
        smbsign_connection_free(conn);
        return;
    }
    for (size_t f = 0; f < info.finding_count; f++) {
        smbsign_finding finding;
        if (smbsign_connection_get_finding(conn, f, &finding) != SMBSIGN_OK ||
            finding.code != SMBSIGN_FINDING_CLOSED_AFTER_NEGOTIATE)
            continue;
        pdu_result_t res;
        memset(&res, 0, sizeof res);
        res.is_end = TRUE;
        res.msg.finding_mask = 1u << (finding.code - 1);
        res.posture = posture_view(conn_id, &posture);
        set_finding_detail(&res, finding.code, finding_detail_of(conn, f));
        builder_add(out, &res);
        break;
    }
    smbsign_connection_free(conn);
}

/* Dissection runs on one thread: one builder serves every frame. */
static frame_builder_t builder;

static int dissect_smbsign(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    if (!analyzer || !tree)
        return 0;
    frame_result_t *fr = (frame_result_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_smbsign, 0);
    if (!fr && !PINFO_FD_VISITED(pinfo)) {
        GPtrArray *smb1 = finfo_array(tree, hf_smb_server_component);
        GPtrArray *smb2 = finfo_array(tree, hf_smb2_protocol_id);
        gboolean smb = (smb1 && smb1->len) || (smb2 && smb2->len);
        guint32 flags = tcp_flags(tree);
        if (flags & (TCP_SYN | TCP_FIN | TCP_RST))
            conn_cache_forget(pinfo);
        if (!smb && !(flags & (TCP_FIN | TCP_RST)))
            return 0;
        frame_builder_t *results = &builder;
        results->count = 0;
        if (smb) {
            guint64 conn_id = conn_id_of(pinfo);
            collect(pinfo, smb1, conn_id, results);
            collect(pinfo, smb2, conn_id, results);
        }
        on_tcp_end(pinfo, flags, results);
        if (!smb && results->count == 0)
            return 0;
        fr = wmem_new0(wmem_file_scope(), frame_result_t);
        fr->count = results->count;
        if (fr->count)
            fr->pdus = (pdu_result_t *)wmem_memdup(wmem_file_scope(), results->pdus,
                                                   fr->count * sizeof(pdu_result_t));
        p_add_proto_data(wmem_file_scope(), pinfo, proto_smbsign, 0, fr);
    }
    if (!fr || fr->count == 0)
        return 0;
    for (guint i = 0; i < fr->count; i++)
        add_tree(tvb, pinfo, tree, &fr->pdus[i]);
    return tvb_captured_length(tvb);
}

/* Turn "a:b;c:d" into "KIND a:b;KIND c:d" for smbsign_analyzer_add_credentials. */
static void add_entries(const char *kind, const char *list)
{
    if (!list || !*list)
        return;
    gchar **items = g_strsplit(list, ";", -1);
    for (gchar **it = items; *it; it++) {
        gchar *entry = g_strstrip(*it);
        if (!*entry)
            continue;
        gchar *line = g_strdup_printf("%s %s", kind, entry);
        if (smbsign_analyzer_add_credentials(analyzer, line) != SMBSIGN_OK)
            ws_warning("smbsign: ignoring malformed %s entry", kind);
        g_free(line);
    }
    g_strfreev(items);
}

static void smbsign_init(void)
{
    memset(conn_cache, 0, sizeof conn_cache);
    memset(posture_cache, 0, sizeof posture_cache);
    smbsign_analyzer_free(analyzer);
    analyzer = smbsign_analyzer_new();
    if (!analyzer)
        return;
    add_entries("password", pref_passwords);
    add_entries("nt-hash", pref_nt_hashes);
    add_entries("session-key", pref_session_keys);
    for (guint k = 0; k < n_key_uat; k++) {
        gchar *entry = g_strdup_printf("%s:%s", key_uat[k].session_id, key_uat[k].key);
        add_entries("session-key", entry);
        g_free(entry);
    }
    for (guint k = 0; k < n_password_uat; k++) {
        gchar *entry = g_strdup_printf("%s:%s", password_uat[k].user, password_uat[k].password);
        add_entries("password", entry);
        g_free(entry);
    }
    if (pref_keytab && *pref_keytab) {
        if (smbsign_analyzer_add_keytab(analyzer, pref_keytab) != SMBSIGN_OK)
            ws_warning("smbsign: keytab %s: %s", pref_keytab, smbsign_analyzer_last_error(analyzer));
    }
    if (pref_credentials_file && *pref_credentials_file) {
        gchar *text = NULL;
        if (g_file_get_contents(pref_credentials_file, &text, NULL, NULL)) {
            if (smbsign_analyzer_add_credentials(analyzer, text) != SMBSIGN_OK)
                ws_warning("smbsign: %s has a malformed entry", pref_credentials_file);
            g_free(text);
        }
    }
}

static void smbsign_cleanup(void)
{
    smbsign_analyzer_free(analyzer);
    analyzer = NULL;
}

static void *key_uat_copy(void *dest, const void *orig, size_t len _U_)
{
    key_uat_t *d = (key_uat_t *)dest;
    const key_uat_t *o = (const key_uat_t *)orig;
    d->session_id = g_strdup(o->session_id);
    d->key = g_strdup(o->key);
    return d;
}

static void key_uat_free(void *r)
{
    key_uat_t *k = (key_uat_t *)r;
    g_free(k->session_id);
    g_free(k->key);
}

static void *password_uat_copy(void *dest, const void *orig, size_t len _U_)
{
    password_uat_t *d = (password_uat_t *)dest;
    const password_uat_t *o = (const password_uat_t *)orig;
    d->user = g_strdup(o->user);
    d->password = g_strdup(o->password);
    return d;
}

static void password_uat_free(void *r)
{
    password_uat_t *p = (password_uat_t *)r;
    g_free(p->user);
    g_free(p->password);
}

/* values[0 .. n) from `name(first + k)`, skipping values with no name. */
static void fill_vals(value_string *vals, guint cap, guint32 first, guint32 last,
                      const char *(*name)(guint32))
{
    guint n = 0;
    for (guint32 v = first; v <= last && n < cap; v++) {
        const char *s = name(v);
        if (s) {
            vals[n].value = v;
            vals[n].strptr = s;
            n++;
        }
    }
    vals[n].value = 0;
    vals[n].strptr = NULL;
}

static const char *dialect_name_u32(guint32 v) { return smbsign_dialect_name((uint16_t)v); }

static void register_names(void)
{
    fill_vals(signing_vals, SMBSIGN_SIGNING_COUNT, 1, SMBSIGN_SIGNING_COUNT - 1, smbsign_signing_name);
    fill_vals(mac_vals, SMBSIGN_MAC_COUNT, 1, SMBSIGN_MAC_COUNT - 1, smbsign_mac_name);
    fill_vals(verdict_vals, SMBSIGN_VERDICT_COUNT, 0, SMBSIGN_VERDICT_COUNT - 1, smbsign_verdict_name);
    fill_vals(finding_vals, SMBSIGN_FINDING_COUNT, 1, SMBSIGN_FINDING_COUNT, smbsign_finding_code_name);
    fill_vals(dialect_vals, MAX_DIALECTS, 0x0200, 0x03ff, dialect_name_u32);
}

static int expert_severity(guint32 code)
{
    switch (smbsign_finding_code_severity(code)) {
    case SMBSIGN_SEVERITY_ERROR: return PI_ERROR;
    case SMBSIGN_SEVERITY_WARNING: return PI_WARN;
    default: return PI_NOTE;
    }
}

static void proto_register_smbsign(void)
{
    register_names();
    static hf_register_info hf[] = {
        {&hf_server_signing, {"Server signing", "smbsign.server_signing", FT_UINT32, BASE_DEC,
          VALS(signing_vals), 0x0, "Signing setting the server advertised (disabled/enabled/required)", HFILL}},
        {&hf_client_signing, {"Client signing", "smbsign.client_signing", FT_UINT32, BASE_DEC,
          VALS(signing_vals), 0x0, "Signing setting the client advertised (disabled/enabled/required)", HFILL}},
        {&hf_server_security_mode, {"Server security mode", "smbsign.server_security_mode", FT_UINT16, BASE_HEX,
          NULL, 0x0, "SecurityMode of the last NEGOTIATE response", HFILL}},
        {&hf_server_mode_enabled, {"Signing enabled", "smbsign.server_mode.enabled", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, "The server's SecurityMode has its signing-enabled bit set", HFILL}},
        {&hf_server_mode_required, {"Signing required", "smbsign.server_mode.required", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, "The server's SecurityMode has its signing-required bit set", HFILL}},
        {&hf_client_security_mode, {"Client security mode", "smbsign.client_security_mode", FT_UINT16, BASE_HEX,
          NULL, 0x0, "SecurityMode of the last SMB2 NEGOTIATE request", HFILL}},
        {&hf_client_mode_enabled, {"Signing enabled", "smbsign.client_mode.enabled", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, "The client's SecurityMode has its signing-enabled bit set", HFILL}},
        {&hf_client_mode_required, {"Signing required", "smbsign.client_mode.required", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, "The client's SecurityMode has its signing-required bit set", HFILL}},
        {&hf_security_mode_reading, {"Security mode reading", "smbsign.security_mode_reading", FT_STRING,
          BASE_NONE, NULL, 0x0, "The KB 887429 reading of this NEGOTIATE response's SecurityMode", HFILL}},
        {&hf_dialect, {"Dialect", "smbsign.dialect", FT_UINT16, BASE_HEX, VALS(dialect_vals), 0x0,
          "Negotiated SMB2/3 dialect (e.g. smbsign.dialect == 0x0311)", HFILL}},
        {&hf_dialect_name, {"Dialect name", "smbsign.dialect_name", FT_STRING, BASE_NONE, NULL, 0x0,
          "Negotiated dialect as written: \"NT LM 0.12\", \"3.1.1\"", HFILL}},
        {&hf_signing_algorithm, {"Signing algorithm", "smbsign.signing_algorithm", FT_UINT32, BASE_DEC,
          VALS(mac_vals), 0x0, "MAC algorithm that applies to this dialect", HFILL}},
        {&hf_signed, {"Signed", "smbsign.signed", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The message is signed (the flag, or an SMB1 signature once signing is active)", HFILL}},
        {&hf_signature_status, {"Signature status", "smbsign.signature_status", FT_UINT32, BASE_DEC,
          VALS(verdict_vals), 0x0, "not-signed, no-key, unsigned-while-required, valid, forged…", HFILL}},
        {&hf_session_id, {"Session id", "smbsign.session.id", FT_UINT64, BASE_HEX, NULL, 0x0, NULL, HFILL}},
        {&hf_session_guest, {"Guest session", "smbsign.session.guest", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          NULL, HFILL}},
        {&hf_session_anonymous, {"Anonymous session", "smbsign.session.anonymous", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, NULL, HFILL}},
        {&hf_finding, {"Finding", "smbsign.finding", FT_UINT32, BASE_DEC, VALS(finding_vals), 0x0,
          "smbsign finding code that applies to this message", HFILL}},
        {&hf_finding_text, {"Seen", "smbsign.finding.text", FT_STRING, BASE_NONE, NULL, 0x0,
          "What the finding saw (long texts continue in further items)", HFILL}},
        {&hf_finding_evidence, {"Evidence", "smbsign.finding.evidence", FT_STRING, BASE_NONE, NULL,
          0x0, "A value compared: what was seen, what it was compared with", HFILL}},
        {&hf_finding_fix, {"Fix", "smbsign.finding.fix", FT_STRING, BASE_NONE, NULL, 0x0,
          "The setting to change, per side: Group Policy, registry value, Samba option", HFILL}},
        {&hf_expected_signature, {"Expected signature", "smbsign.expected_signature", FT_BYTES, BASE_NONE,
          NULL, 0x0, "The signature a forged message should carry", HFILL}},
        {&hf_relay_peer_frame, {"Relay: other leg", "smbsign.relay.peer_frame", FT_FRAMENUM, BASE_NONE,
          NULL, 0x0, "The frame on the other connection that carries the same NTLM AUTHENTICATE", HFILL}},
    };
    static gint *ett[] = {&ett_smbsign, &ett_server_mode, &ett_client_mode, &ett_finding};
    static ei_register_info ei[SMBSIGN_FINDING_COUNT];
    for (guint code = 1; code <= SMBSIGN_FINDING_COUNT; code++) {
        gchar *name = g_strdup_printf("smbsign.%s", smbsign_finding_code_name(code));
        for (gchar *c = name; *c; c++)
            if (*c == '-')
                *c = '_';
        ei_names[code - 1] = name;
        ei_register_info r = {&ei_finding[code - 1],
                              {name, PI_SECURITY, expert_severity(code),
                               smbsign_finding_code_summary(code), EXPFILL}};
        ei[code - 1] = r;
    }
    proto_smbsign = proto_register_protocol("SMB Signing (smbsign)", "SMB Signing", "smbsign");
    proto_register_field_array(proto_smbsign, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_module_t *expert = expert_register_protocol(proto_smbsign);
    expert_register_field_array(expert, ei, array_length(ei));
    module_t *prefs = prefs_register_protocol(proto_smbsign, NULL);
    static uat_field_t key_fields[] = {
        UAT_FLD_CSTRING(key_uat, session_id, "Session ID",
                        "Session id as smbsign shows it (0x…), or as Wireshark's SMB2 key table"),
        UAT_FLD_CSTRING(key_uat, key, "Session key", "16 or 32 bytes in hex"),
        UAT_END_FIELDS};
    uat_t *keys = uat_new("smbsign session keys", sizeof(key_uat_t), "smbsign_session_keys", TRUE,
                          &key_uat, &n_key_uat, UAT_AFFECTS_DISSECTION, NULL, key_uat_copy, NULL,
                          key_uat_free, NULL, NULL, key_fields);
    prefs_register_bool_preference(prefs, "other_ports", "Find SMB on other TCP ports",
                                   "Recognise SMB on TCP ports other than 139 and 445 (NBSS framing "
                                   "and an SMB header; Windows 11 24H2 and Server 2025 allow "
                                   "alternative ports) and decode it as on 445",
                                   &pref_other_ports);
    prefs_register_uat_preference(prefs, "session_key_table", "Session keys",
        "Session id -> session key (Kerberos sessions, or any session whose key is known)", keys);
    static uat_field_t password_fields[] = {
        UAT_FLD_CSTRING(password_uat, user, "User", "DOMAIN\\user or user"),
        UAT_FLD_CSTRING(password_uat, password, "Password", "Its password (NTLM sessions)"),
        UAT_END_FIELDS};
    uat_t *passwords = uat_new("smbsign passwords", sizeof(password_uat_t), "smbsign_passwords", TRUE,
                               &password_uat, &n_password_uat, UAT_AFFECTS_DISSECTION, NULL,
                               password_uat_copy, NULL, password_uat_free, NULL, NULL,
                               password_fields);
    prefs_register_uat_preference(prefs, "password_table", "Passwords",
        "User -> password, to verify the signatures of NTLM sessions", passwords);
    prefs_register_string_preference(prefs, "passwords", "Passwords",
        "USER:PASSWORD entries separated by ';' (USER may be DOMAIN\\user), to verify NTLM "
        "sessions' signatures", &pref_passwords);
    prefs_register_string_preference(prefs, "nt_hashes", "NT hashes",
        "USER:HEX32 entries separated by ';'", &pref_nt_hashes);
    prefs_register_string_preference(prefs, "session_keys", "Session keys",
        "SESSIONID:HEX entries separated by ';' (session id as smbsign shows it, 16- or 32-byte key; "
        "for Kerberos sessions when no keytab is at hand)", &pref_session_keys);
    prefs_register_filename_preference(prefs, "keytab", "Keytab",
        "MIT keytab of the servers' service keys (ktutil, samba-tool domain exportkeytab, "
        "ktpass), to verify Kerberos sessions' signatures", &pref_keytab, FALSE);
    prefs_register_filename_preference(prefs, "credentials_file", "Credentials file",
        "File of 'password USER:PASS', 'nt-hash USER:HEX32', 'session-key ID:HEX', "
        "'keytab PATH' lines", &pref_credentials_file, FALSE);
    named_conns = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_int64_hash,
                                         g_int64_equal);
    ended_conns = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_int64_hash,
                                         g_int64_equal);
    register_init_routine(smbsign_init);
    register_cleanup_routine(smbsign_cleanup);
    smbsign_handle = register_dissector("smbsign", dissect_smbsign, proto_smbsign);
    register_postdissector(smbsign_handle);
}

/* SMB on other TCP ports (Windows 11 24H2 / Server 2025 allow alternative
 * ports; labs use 4455 or 8445): Wireshark only dissects 139 and 445
 * without "Decode As", so a TCP heuristic recognises an NBSS session
 * message (type 0, 17- or 24-bit length) holding an SMB magic (0xFF, 0xFE,
 * 0xFD or 0xFC then "SMB"), and hands the conversation to Wireshark's own
 * NBSS dissector, whose SMB and SMB2 items smbsign then reads as on 445.
 * Turned off with the preference smbsign.other_ports (Protocol
 * Preferences), or like any heuristic (Analyze > Enabled Protocols, or
 * `--disable-heuristic smbsign_nbss_tcp`). */
static dissector_handle_t nbss_handle;


static smbsign_heur_result dissect_smb_other_port(tvbuff_t *tvb, packet_info *pinfo,
                                                  proto_tree *tree, void *data)
{
    if (!pref_other_ports || !nbss_handle || pinfo->srcport == 445 || pinfo->destport == 445 ||
        pinfo->srcport == 139 || pinfo->destport == 139 ||
        tvb_captured_length(tvb) < 8)
        return FALSE;
    if (smbsign_tvb_get_u8(tvb, 0) != 0)
        return FALSE;
    guint32 len = tvb_get_ntoh24(tvb, 1);
    guint8 magic = smbsign_tvb_get_u8(tvb, 4);
    if (len < 4 || (magic != 0xFF && magic != 0xFE && magic != 0xFD && magic != 0xFC) ||
        tvb_memeql(tvb, 5, (const guint8 *)"SMB", 3) != 0)
        return FALSE;
    conversation_t *conv = find_or_create_conversation(pinfo);
    if (conv)
        conversation_set_dissector(conv, nbss_handle);
    /* NBSS reads a direct-hosted (port 445) header, 24-bit length, only
     * when the port it was matched on says so: the alternative ports are
     * direct-hosted SMB too. */
    guint32 match = pinfo->match_uint;
    pinfo->match_uint = 445;
    /* TCP's `data` (struct tcpinfo) goes along: NBSS needs it. */
    call_dissector_with_data(nbss_handle, tvb, pinfo, tree, data);
    pinfo->match_uint = match;
    return TRUE;
}

static void proto_reg_handoff_smbsign(void)
{
    /* NBSS is not registered by name in every release: take the handle
     * Wireshark gives port 445. */
    nbss_handle = find_dissector("nbss");
    if (!nbss_handle) {
        dissector_table_t ports = find_dissector_table("tcp.port");
        nbss_handle = ports ? dissector_get_uint_handle(ports, 445) : NULL;
    }
    heur_dissector_add("tcp", dissect_smb_other_port, "SMB on other TCP ports (smbsign)",
                       "smbsign_nbss_tcp", proto_smbsign, HEURISTIC_ENABLE);
    hf_smb_server_component = proto_registrar_get_id_byname("smb.server_component");
    hf_smb2_protocol_id = proto_registrar_get_id_byname("smb2.protocol_id");
    hf_tcp_syn = proto_registrar_get_id_byname("tcp.connection.syn");
    hf_tcp_synack = proto_registrar_get_id_byname("tcp.connection.synack");
    hf_tcp_fin = proto_registrar_get_id_byname("tcp.connection.fin");
    hf_tcp_rst = proto_registrar_get_id_byname("tcp.connection.rst");
    GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
    int ids[] = {hf_smb_server_component, hf_smb2_protocol_id, hf_tcp_syn,
                 hf_tcp_synack,           hf_tcp_fin,          hf_tcp_rst};
    for (guint k = 0; k < G_N_ELEMENTS(ids); k++)
        if (ids[k] > 0)
            g_array_append_val(wanted, ids[k]);
    set_postdissector_wanted_hfids(smbsign_handle, wanted);
}

void plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = proto_register_smbsign;
    plug.register_handoff = proto_reg_handoff_smbsign;
    proto_register_plugin(&plug);
}
