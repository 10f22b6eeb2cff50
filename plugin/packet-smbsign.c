/* packet-smbsign.c
 * "SMB Signing" (smbsign): a Wireshark 4.0 postdissector that annotates
 * every SMB and SMB2 PDU with its connection's signing posture, the
 * message's signing status and the findings that concern it, using
 * libsmbsign through include/smbsign.h only (linked statically).
 *
 * It asks for the smb and smb2 protocol items (set_postdissector_wanted_hfids)
 * and reads each PDU's bytes from the item's data source, so PDUs
 * reassembled across TCP segments, and decrypted ones, are seen. State is fed
 * on the first pass only and cached per frame, so re-dissection (GUI, -2)
 * gives the same answers as one pass.
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
#include <epan/wmem_scopes.h>
#include <ws_version.h>

#include "smbsign.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);

#define MAX_PDUS_PER_FRAME 64
#define MAX_MSGS_PER_PDU 16

static int proto_smbsign = -1;
static int proto_smb = -1;
static int proto_smb2 = -1;
static int proto_tcp = -1;

static int hf_server_signing = -1;
static int hf_client_signing = -1;
static int hf_server_security_mode = -1;
static int hf_client_security_mode = -1;
static int hf_security_mode_reading = -1;
static int hf_dialect = -1;
static int hf_signing_algorithm = -1;
static int hf_signed = -1;
static int hf_signature_status = -1;
static int hf_session_id = -1;
static int hf_session_guest = -1;
static int hf_session_anonymous = -1;
static int hf_finding = -1;
static int hf_expected_signature = -1;

static gint ett_smbsign = -1;

static expert_field ei_signing_not_required = EI_INIT;
static expert_field ei_signing_disabled = EI_INIT;
static expert_field ei_signing_mismatch = EI_INIT;
static expert_field ei_unsigned_while_required = EI_INIT;
static expert_field ei_guest_session = EI_INIT;
static expert_field ei_anonymous_session = EI_INIT;
static expert_field ei_smb1_in_use = EI_INIT;
static expert_field ei_encryption_in_use = EI_INIT;
static expert_field ei_decode_error = EI_INIT;
static expert_field ei_bad_signature = EI_INIT;
static expert_field ei_wrong_credentials = EI_INIT;

/* Preferences: secrets for signature verification. */
static const char *pref_passwords = "";
static const char *pref_nt_hashes = "";
static const char *pref_session_keys = "";
static const char *pref_credentials_file = "";

static dissector_handle_t smbsign_handle;
static smbsign_analyzer *analyzer;
/* Connections whose end (FIN/RST) was already told to the analyzer. */
static wmem_map_t *ended_conns;

/* What one PDU looked like after it was fed (first pass), kept per frame. */
typedef struct {
    smbsign_pdu_annotation msg;
    /* Connection posture at that point. */
    smbsign_signing server_signing, client_signing;
    gboolean has_server_mode, has_client_mode;
    guint16 server_mode, client_mode;
    gchar dialect[32];
    gchar algorithm[32];
    gboolean session_known, session_guest, session_anonymous;
    /* Finding messages (index = code - 1), for expert infos. */
    gchar *finding_text[SMBSIGN_FINDING_TREE_CONNECT_DENIED];
    /* Not a PDU: the TCP FIN/RST that ended the connection. */
    gboolean is_end;
} pdu_result_t;

typedef struct {
    guint count;
    pdu_result_t *pdus;
} frame_result_t;

static const char *signing_name(smbsign_signing s)
{
    switch (s) {
    case SMBSIGN_SIGNING_DISABLED: return "disabled";
    case SMBSIGN_SIGNING_ENABLED: return "enabled";
    case SMBSIGN_SIGNING_REQUIRED: return "required";
    default: return NULL;
    }
}

static const char *finding_name(guint code)
{
    static const char *names[] = {
        "signing-not-required", "signing-disabled", "signing-mismatch",
        "unsigned-while-required", "guest-session", "anonymous-session",
        "smb1-in-use", "encryption-in-use", "decode-error", "bad-signature",
        "wrong-credentials", "closed-after-negotiate", "tree-connect-denied",
    };
    return code >= 1 && code <= G_N_ELEMENTS(names) ? names[code - 1] : "unknown";
}

static expert_field *finding_expert(guint code)
{
    switch (code) {
    case SMBSIGN_FINDING_SIGNING_NOT_REQUIRED: return &ei_signing_not_required;
    case SMBSIGN_FINDING_SIGNING_DISABLED: return &ei_signing_disabled;
    case SMBSIGN_FINDING_SIGNING_MISMATCH: return &ei_signing_mismatch;
    case SMBSIGN_FINDING_UNSIGNED_WHILE_REQUIRED: return &ei_unsigned_while_required;
    case SMBSIGN_FINDING_GUEST_SESSION: return &ei_guest_session;
    case SMBSIGN_FINDING_ANONYMOUS_SESSION: return &ei_anonymous_session;
    case SMBSIGN_FINDING_SMB1_IN_USE: return &ei_smb1_in_use;
    case SMBSIGN_FINDING_ENCRYPTION_IN_USE: return &ei_encryption_in_use;
    case SMBSIGN_FINDING_BAD_SIGNATURE: return &ei_bad_signature;
    case SMBSIGN_FINDING_WRONG_CREDENTIALS: return &ei_wrong_credentials;
    case SMBSIGN_FINDING_CLOSED_AFTER_NEGOTIATE:
    case SMBSIGN_FINDING_TREE_CONNECT_DENIED: return &ei_signing_mismatch;
    default: return &ei_decode_error;
    }
}

static const char *signature_status(const smbsign_pdu_annotation *m)
{
    switch (m->verdict) {
    case SMBSIGN_VERDICT_VALID: return "valid";
    case SMBSIGN_VERDICT_FORGED: return "forged";
    case SMBSIGN_VERDICT_UNSIGNED_WHILE_REQUIRED: return "unsigned-while-required";
    case SMBSIGN_VERDICT_UNVERIFIABLE: return "unverifiable";
    default: return m->flags_signed ? "no-key" : "not-signed";
    }
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
static void set_posture(pdu_result_t *res, const smbsign_posture *posture)
{
    res->server_signing = posture->server_signing;
    res->client_signing = posture->client_signing;
    res->has_server_mode = posture->has_server_security_mode;
    res->server_mode = posture->server_security_mode;
    res->has_client_mode = posture->has_client_security_mode;
    res->client_mode = posture->client_security_mode;
    g_strlcpy(res->dialect, posture->dialect, sizeof res->dialect);
    g_strlcpy(res->algorithm, posture->signing_algorithm, sizeof res->algorithm);
}

/* Feed one PDU (first pass) and record the result. */
static void feed_pdu(packet_info *pinfo, guint64 conn_id, const guint8 *data, guint len,
                     wmem_array_t *out)
{
    smbsign_pdu_annotation msgs[MAX_MSGS_PER_PDU];
    size_t n = 0;
    guint32 direction = SMBSIGN_TO_SERVER;
    /* Response bit: SMB1 Flags 0x80 at 9, SMB2 Flags 0x1 at 16. */
    if (len > 16 && data[0] == 0xfe && (data[16] & 1))
        direction = SMBSIGN_TO_CLIENT;
    else if (len > 9 && data[0] == 0xff && (data[9] & 0x80))
        direction = SMBSIGN_TO_CLIENT;
    smbsign_result r = smbsign_analyzer_feed(analyzer, conn_id, direction, pinfo->num, data, len,
                                             msgs, MAX_MSGS_PER_PDU, &n);
    if (r != SMBSIGN_OK && r != SMBSIGN_MALFORMED)
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
        set_posture(&res, &posture);
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
                finding.code >= 1 && finding.code <= SMBSIGN_FINDING_TREE_CONNECT_DENIED &&
                (msgs[k].finding_mask & (1u << (finding.code - 1))) &&
                !res.finding_text[finding.code - 1])
                res.finding_text[finding.code - 1] = wmem_strdup(wmem_file_scope(), finding.message);
        }
        wmem_array_append_one(out, res);
    }
    smbsign_connection_free(conn);
}

/* The findings that concern this message (or this connection end). */
static void add_findings(tvbuff_t *tvb, packet_info *pinfo, proto_tree *st, const pdu_result_t *res)
{
    const smbsign_pdu_annotation *m = &res->msg;
    for (guint code = 1; code <= SMBSIGN_FINDING_TREE_CONNECT_DENIED; code++) {
        if (!(m->finding_mask & (1u << (code - 1))))
            continue;
        proto_item *fi = proto_tree_add_string(st, hf_finding, tvb, 0, 0, finding_name(code));
        proto_item_set_generated(fi);
        const char *text = res->finding_text[code - 1];
        expert_add_info_format(pinfo, fi, finding_expert(code), "%s: %s", finding_name(code),
                               text ? text : finding_name(code));
    }
}

static void add_tree(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const pdu_result_t *res)
{
    const smbsign_pdu_annotation *m = &res->msg;
    proto_item *ti = proto_tree_add_item(tree, proto_smbsign, tvb, 0, 0, ENC_NA);
    proto_item_append_text(ti, ", %s", res->is_end ? "connection ended" : signature_status(m));
    proto_tree *st = proto_item_add_subtree(ti, ett_smbsign);
    const char *ss = signing_name(res->server_signing);
    const char *cs = signing_name(res->client_signing);
    if (ss)
        proto_item_set_generated(proto_tree_add_string(st, hf_server_signing, tvb, 0, 0, ss));
    if (cs)
        proto_item_set_generated(proto_tree_add_string(st, hf_client_signing, tvb, 0, 0, cs));
    if (res->has_server_mode)
        proto_item_set_generated(
            proto_tree_add_uint(st, hf_server_security_mode, tvb, 0, 0, res->server_mode));
    if (res->has_client_mode)
        proto_item_set_generated(
            proto_tree_add_uint(st, hf_client_security_mode, tvb, 0, 0, res->client_mode));
    if (m->has_security_mode && m->is_response)
        proto_item_set_generated(
            proto_tree_add_string(st, hf_security_mode_reading, tvb, 0, 0, kb_reading(m)));
    if (res->dialect[0])
        proto_item_set_generated(proto_tree_add_string(st, hf_dialect, tvb, 0, 0, res->dialect));
    if (res->algorithm[0])
        proto_item_set_generated(
            proto_tree_add_string(st, hf_signing_algorithm, tvb, 0, 0, res->algorithm));
    if (res->is_end) {
        add_findings(tvb, pinfo, st, res);
        return;
    }
    proto_item_set_generated(proto_tree_add_boolean(st, hf_signed, tvb, 0, 0, m->flags_signed));
    proto_item *status =
        proto_tree_add_string(st, hf_signature_status, tvb, 0, 0, signature_status(m));
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
        expert_add_info_format(pinfo, status, &ei_bad_signature,
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
}

static void collect(packet_info *pinfo, proto_tree *tree, int proto_id, guint64 conn_id,
                    wmem_array_t *out)
{
    GPtrArray *items = proto_get_finfo_ptr_array(tree, proto_id);
    if (!items)
        return;
    for (guint i = 0; i < items->len && wmem_array_get_count(out) < MAX_PDUS_PER_FRAME; i++) {
        field_info *fi = (field_info *)g_ptr_array_index(items, i);
        if (!fi || !fi->ds_tvb || fi->length <= 0)
            continue;
        guint avail = tvb_captured_length_remaining(fi->ds_tvb, fi->start);
        guint len = (guint)fi->length < avail ? (guint)fi->length : avail;
        if (len < 4)
            continue;
        const guint8 *data = tvb_get_ptr(fi->ds_tvb, fi->start, len);
        feed_pdu(pinfo, conn_id, data, len, out);
    }
}

/* A TCP FIN or RST on a connection the analyzer was fed: tell it the
 * connection ended (once), so the KB's "closed right after NEGOTIATE"
 * scenario is judged, and show that finding on this frame. */
static void on_tcp_end(packet_info *pinfo, proto_tree *tree, wmem_array_t *out)
{
    GPtrArray *items = proto_tcp > 0 ? proto_get_finfo_ptr_array(tree, proto_tcp) : NULL;
    if (!items || items->len == 0)
        return;
    field_info *fi = (field_info *)g_ptr_array_index(items, items->len - 1);
    /* TCP header: flags byte at offset 13 (FIN 0x01, RST 0x04). */
    if (!fi || !fi->ds_tvb || fi->length < 14 ||
        tvb_captured_length_remaining(fi->ds_tvb, fi->start) < 14)
        return;
    if (!(tvb_get_guint8(fi->ds_tvb, fi->start + 13) & 0x05))
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
        set_posture(&res, &posture);
        res.finding_text[finding.code - 1] = wmem_strdup(wmem_file_scope(), finding.message);
        wmem_array_append_one(out, res);
        break;
    }
    smbsign_connection_free(conn);
}

static int dissect_smbsign(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    if (!analyzer || !tree)
        return 0;
    frame_result_t *fr = (frame_result_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_smbsign, 0);
    if (!fr && !PINFO_FD_VISITED(pinfo)) {
        gboolean smb = proto_is_frame_protocol(pinfo->layers, "smb") ||
                       proto_is_frame_protocol(pinfo->layers, "smb2");
        wmem_array_t *results = wmem_array_new(pinfo->pool, sizeof(pdu_result_t));
        if (smb) {
            conversation_t *conv = find_or_create_conversation(pinfo);
            guint64 conn_id = conv ? conv->conv_index : 0;
            collect(pinfo, tree, proto_smb, conn_id, results);
            collect(pinfo, tree, proto_smb2, conn_id, results);
        }
        if (proto_is_frame_protocol(pinfo->layers, "tcp"))
            on_tcp_end(pinfo, tree, results);
        if (!smb && wmem_array_get_count(results) == 0)
            return 0;
        fr = wmem_new0(wmem_file_scope(), frame_result_t);
        fr->count = wmem_array_get_count(results);
        if (fr->count)
            fr->pdus = (pdu_result_t *)wmem_memdup(wmem_file_scope(), wmem_array_get_raw(results),
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
    smbsign_analyzer_free(analyzer);
    analyzer = smbsign_analyzer_new();
    if (!analyzer)
        return;
    add_entries("password", pref_passwords);
    add_entries("nt-hash", pref_nt_hashes);
    add_entries("session-key", pref_session_keys);
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

static void proto_register_smbsign(void)
{
    static hf_register_info hf[] = {
        {&hf_server_signing, {"Server signing", "smbsign.server_signing", FT_STRING, BASE_NONE, NULL, 0x0,
          "Signing setting the server advertised (disabled/enabled/required)", HFILL}},
        {&hf_client_signing, {"Client signing", "smbsign.client_signing", FT_STRING, BASE_NONE, NULL, 0x0,
          "Signing setting the client advertised (disabled/enabled/required)", HFILL}},
        {&hf_server_security_mode, {"Server security mode", "smbsign.server_security_mode", FT_UINT16, BASE_HEX,
          NULL, 0x0, "SecurityMode of the last NEGOTIATE response", HFILL}},
        {&hf_client_security_mode, {"Client security mode", "smbsign.client_security_mode", FT_UINT16, BASE_HEX,
          NULL, 0x0, "SecurityMode of the last SMB2 NEGOTIATE request", HFILL}},
        {&hf_security_mode_reading, {"Security mode reading", "smbsign.security_mode_reading", FT_STRING,
          BASE_NONE, NULL, 0x0, "The KB 887429 reading of this NEGOTIATE response's SecurityMode", HFILL}},
        {&hf_dialect, {"Dialect", "smbsign.dialect", FT_STRING, BASE_NONE, NULL, 0x0,
          "Negotiated dialect", HFILL}},
        {&hf_signing_algorithm, {"Signing algorithm", "smbsign.signing_algorithm", FT_STRING, BASE_NONE, NULL,
          0x0, "MAC algorithm that applies to this dialect", HFILL}},
        {&hf_signed, {"Signed", "smbsign.signed", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The message carries the signature flag", HFILL}},
        {&hf_signature_status, {"Signature status", "smbsign.signature_status", FT_STRING, BASE_NONE, NULL,
          0x0, "not-signed, no-key, unsigned-while-required, valid, forged", HFILL}},
        {&hf_session_id, {"Session id", "smbsign.session.id", FT_UINT64, BASE_HEX, NULL, 0x0, NULL, HFILL}},
        {&hf_session_guest, {"Guest session", "smbsign.session.guest", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          NULL, HFILL}},
        {&hf_session_anonymous, {"Anonymous session", "smbsign.session.anonymous", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, NULL, HFILL}},
        {&hf_finding, {"Finding", "smbsign.finding", FT_STRING, BASE_NONE, NULL, 0x0,
          "smbsign finding code that applies to this message", HFILL}},
        {&hf_expected_signature, {"Expected signature", "smbsign.expected_signature", FT_BYTES, BASE_NONE,
          NULL, 0x0, "The signature a forged message should carry", HFILL}},
    };
    static gint *ett[] = {&ett_smbsign};
    static ei_register_info ei[] = {
        {&ei_signing_not_required, {"smbsign.signing_not_required", PI_SECURITY, PI_WARN,
          "Server does not require signing", EXPFILL}},
        {&ei_signing_disabled, {"smbsign.signing_disabled", PI_SECURITY, PI_WARN,
          "SMB1 signing disabled", EXPFILL}},
        {&ei_signing_mismatch, {"smbsign.signing_mismatch", PI_SECURITY, PI_ERROR,
          "Signing required by one side, disabled by the other", EXPFILL}},
        {&ei_unsigned_while_required, {"smbsign.unsigned_while_required", PI_SECURITY, PI_ERROR,
          "Message not signed although signing is in force", EXPFILL}},
        {&ei_guest_session, {"smbsign.guest_session", PI_SECURITY, PI_NOTE, "Guest session", EXPFILL}},
        {&ei_anonymous_session, {"smbsign.anonymous_session", PI_SECURITY, PI_NOTE, "Anonymous session",
          EXPFILL}},
        {&ei_smb1_in_use, {"smbsign.smb1_in_use", PI_SECURITY, PI_WARN, "SMB1 in use", EXPFILL}},
        {&ei_encryption_in_use, {"smbsign.encryption_in_use", PI_SECURITY, PI_CHAT, "SMB3 encryption",
          EXPFILL}},
        {&ei_decode_error, {"smbsign.decode_error", PI_PROTOCOL, PI_NOTE, "smbsign could not decode",
          EXPFILL}},
        {&ei_bad_signature, {"smbsign.bad_signature", PI_SECURITY, PI_ERROR, "Bad signature", EXPFILL}},
        {&ei_wrong_credentials, {"smbsign.wrong_credentials", PI_SECURITY, PI_WARN,
          "Given credentials do not match the NTLM exchange", EXPFILL}},
    };
    proto_smbsign = proto_register_protocol("SMB Signing (smbsign)", "SMB Signing", "smbsign");
    proto_register_field_array(proto_smbsign, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_module_t *expert = expert_register_protocol(proto_smbsign);
    expert_register_field_array(expert, ei, array_length(ei));
    module_t *prefs = prefs_register_protocol(proto_smbsign, NULL);
    prefs_register_string_preference(prefs, "passwords", "Passwords",
        "USER:PASSWORD entries separated by ';' (USER may be DOMAIN\\user), to verify NTLM "
        "sessions' signatures", &pref_passwords);
    prefs_register_string_preference(prefs, "nt_hashes", "NT hashes",
        "USER:HEX32 entries separated by ';'", &pref_nt_hashes);
    prefs_register_string_preference(prefs, "session_keys", "Session keys",
        "SESSIONID:HEX entries separated by ';' (session id as smbsign shows it, 16- or 32-byte key; "
        "needed for Kerberos sessions)", &pref_session_keys);
    prefs_register_filename_preference(prefs, "credentials_file", "Credentials file",
        "File of 'password USER:PASS', 'nt-hash USER:HEX32', 'session-key ID:HEX' lines",
        &pref_credentials_file, FALSE);
    ended_conns = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_int64_hash,
                                         g_int64_equal);
    register_init_routine(smbsign_init);
    register_cleanup_routine(smbsign_cleanup);
    smbsign_handle = register_dissector("smbsign", dissect_smbsign, proto_smbsign);
    register_postdissector(smbsign_handle);
}

static void proto_reg_handoff_smbsign(void)
{
    proto_smb = proto_get_id_by_filter_name("smb");
    proto_smb2 = proto_get_id_by_filter_name("smb2");
    proto_tcp = proto_get_id_by_filter_name("tcp");
    GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
    if (proto_smb > 0)
        g_array_append_val(wanted, proto_smb);
    if (proto_smb2 > 0)
        g_array_append_val(wanted, proto_smb2);
    if (proto_tcp > 0)
        g_array_append_val(wanted, proto_tcp);
    set_postdissector_wanted_hfids(smbsign_handle, wanted);
}

void plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = proto_register_smbsign;
    plug.register_handoff = proto_reg_handoff_smbsign;
    proto_register_plugin(&plug);
}
