/*
 * Bad input through the C API: every exported function with NULL and
 * garbage, truncated and random PDUs, unknown and reused connection ids,
 * interleaved connections, a 16 MiB random buffer. Each check prints
 * "ok N - what" or "not ok N - what"; the exit status is the failure count.
 * Built and run (under valgrind where available) by tests/c_api.rs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbsign.h"

static int failures, count;

#define CHECK(cond, what)                                                      \
    do {                                                                       \
        count++;                                                               \
        if (cond) {                                                            \
            printf("ok %d - %s\n", count, what);                               \
        } else {                                                               \
            printf("not ok %d - %s\n", count, what);                           \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* A real SMB2 NEGOTIATE response (tests/captures/smb311-gmac.pcap frame 6,
 * NBSS payload): SecurityMode 3, dialect 3.1.1, AES-GMAC signing context. */
static const unsigned char negotiate_header[] = {
    0xfe, 0x53, 0x4d, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x41, 0x00, 0x03, 0x00, 0x11, 0x03, 0x03, 0x00, 0x73, 0x6d, 0x62, 0x6c, 0x61, 0x62, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
    0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x8a, 0x10, 0x56, 0xef, 0x27, 0x7d, 0xdd, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x4a, 0x00, 0xd0, 0x00, 0x00, 0x00,
    0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x3e, 0x30, 0x3c, 0xa0, 0x0e,
    0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, 0xa3, 0x2a,
    0x30, 0x28, 0xa0, 0x26, 0x1b, 0x24, 0x6e, 0x6f, 0x74, 0x5f, 0x64, 0x65, 0x66, 0x69, 0x6e, 0x65,
    0x64, 0x5f, 0x69, 0x6e, 0x5f, 0x52, 0x46, 0x43, 0x34, 0x31, 0x37, 0x38, 0x40, 0x70, 0x6c, 0x65,
    0x61, 0x73, 0x65, 0x5f, 0x69, 0x67, 0x6e, 0x6f, 0x72, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00, 0x01, 0x00, 0x26, 0x6d,
    0x4a, 0xfb, 0x1d, 0x0a, 0x62, 0x26, 0x6b, 0x5c, 0x95, 0x93, 0x9e, 0x10, 0xdd, 0x71, 0x36, 0x98,
    0x0d, 0xdc, 0x58, 0xd6, 0x46, 0x81, 0xce, 0xd4, 0x3f, 0xd1, 0x81, 0x5e, 0x7f, 0x9a, 0x00, 0x00,
    0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00,};

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static unsigned char next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned char)rng;
}

int main(void)
{
    smbsign_pdu_annotation ann[4];
    size_t n = 99;
    unsigned char buf[256];

    CHECK(strlen(smbsign_version()) > 0, "version string");
    CHECK(strcmp(smbsign_result_name(12345), "unknown result") == 0, "unknown result name");

    /* NULL handles everywhere. */
    CHECK(smbsign_analyzer_feed(NULL, 1, 0, 1, buf, 10, NULL, 0, NULL) == SMBSIGN_NULL_PARAMETER,
          "feed NULL analyzer");
    CHECK(smbsign_analyzer_close(NULL, 1) == SMBSIGN_NULL_PARAMETER, "close NULL analyzer");
    CHECK(smbsign_analyzer_mark_ended(NULL, 1) == SMBSIGN_NULL_PARAMETER, "mark_ended NULL analyzer");
    CHECK(smbsign_analyzer_connection_count(NULL) == 0, "count NULL analyzer");
    smbsign_posture posture;
    CHECK(smbsign_analyzer_get_posture(NULL, 1, &posture) == SMBSIGN_NULL_PARAMETER,
          "posture NULL analyzer");
    CHECK(smbsign_analyzer_set_endpoints(NULL, 1, "a", "b") == SMBSIGN_NULL_PARAMETER,
          "set_endpoints NULL analyzer");
    CHECK(smbsign_analyzer_add_credentials(NULL, "password a:b") == SMBSIGN_NULL_PARAMETER,
          "add_credentials NULL analyzer");
    smbsign_connection *conn = NULL;
    CHECK(smbsign_analyzer_connection(NULL, 1, &conn) == SMBSIGN_NULL_PARAMETER && conn == NULL,
          "connection NULL analyzer");
    smbsign_connection_info info;
    smbsign_finding finding;
    smbsign_session session;
    char *json = NULL;
    CHECK(smbsign_connection_get_info(NULL, &info) == SMBSIGN_NULL_PARAMETER, "info NULL");
    CHECK(smbsign_connection_get_finding(NULL, 0, &finding) == SMBSIGN_NULL_PARAMETER, "finding NULL");
    CHECK(smbsign_connection_get_session(NULL, 0, &session) == SMBSIGN_NULL_PARAMETER, "session NULL");
    CHECK(smbsign_connection_to_json(NULL, &json) == SMBSIGN_NULL_PARAMETER && !json, "json NULL");
    smbsign_scan *scan = NULL;
    CHECK(smbsign_scan_file(NULL, &scan) == SMBSIGN_NULL_PARAMETER && !scan, "scan NULL path");
    CHECK(smbsign_scan_file("/nonexistent.pcap", NULL) == SMBSIGN_NULL_PARAMETER, "scan NULL out");
    CHECK(smbsign_scan_file("/nonexistent.pcap", &scan) == SMBSIGN_IO_ERROR && !scan, "scan missing file");
    CHECK(smbsign_scan_file("/etc/hostname", &scan) == SMBSIGN_NOT_A_CAPTURE && !scan, "scan non-capture");
    CHECK(smbsign_scan_connection_count(NULL) == 0, "scan count NULL");
    CHECK(smbsign_scan_frame_count(NULL) == 0, "scan frames NULL");
    CHECK(smbsign_scan_connection(NULL, 0) == NULL, "scan connection NULL");
    CHECK(smbsign_scan_error(NULL) == NULL, "scan error NULL");
    CHECK(smbsign_decode_message(NULL, 5, ann, 4, &n) == SMBSIGN_NULL_PARAMETER, "decode NULL buffer");
    {
        uint64_t peer = 0;
        smbsign_finding_peer fp;
        smbsign_finding_evidence fe;
        CHECK(smbsign_analyzer_relay_peer(NULL, 1, &peer) == SMBSIGN_NULL_PARAMETER, "relay_peer NULL");
        CHECK(smbsign_connection_get_finding_peer(NULL, 0, &fp) == SMBSIGN_NULL_PARAMETER,
              "finding_peer NULL");
        CHECK(smbsign_connection_finding_evidence_count(NULL, 0) == 0, "evidence count NULL");
        CHECK(smbsign_connection_get_finding_evidence(NULL, 0, 0, &fe) == SMBSIGN_NULL_PARAMETER,
              "finding_evidence NULL");
    }
    {
        smbsign_tunnel_info ti;
        smbsign_tree_connect tc;
        smbsign_command_count cc;
        uint64_t frames[2];
        size_t frame_count = 7;
        CHECK(smbsign_connection_get_tunnel(NULL, &ti) == SMBSIGN_NULL_PARAMETER, "tunnel NULL");
        CHECK(smbsign_connection_get_tree_connect(NULL, 0, &tc) == SMBSIGN_NULL_PARAMETER,
              "tree_connect NULL");
        CHECK(smbsign_connection_get_decrypted_command(NULL, 0, &cc) == SMBSIGN_NULL_PARAMETER,
              "decrypted_command NULL");
        CHECK(smbsign_connection_bad_tag_frames(NULL, frames, 2, &frame_count) == SMBSIGN_NULL_PARAMETER,
              "bad_tag_frames NULL");
    }
    CHECK(smbsign_decode_message(buf, 5, NULL, 4, &n) == SMBSIGN_NULL_PARAMETER, "decode NULL out");
    /* Name functions: every value in range has a name, garbage has none. */
    for (uint32_t c = 1; c <= SMBSIGN_FINDING_COUNT; c++) {
        CHECK(smbsign_finding_code_name(c) != NULL, "finding code name");
        CHECK(smbsign_finding_code_summary(c) != NULL, "finding code summary");
        CHECK(smbsign_finding_code_severity(c) < SMBSIGN_SEVERITY_COUNT, "finding severity");
    }
    CHECK(smbsign_finding_code_name(0) == NULL && smbsign_finding_code_name(0xffffffffu) == NULL,
          "finding code name out of range");
    CHECK(smbsign_finding_code_summary(999) == NULL, "summary out of range");
    CHECK(smbsign_finding_code_severity(999) == 0xffffffffu, "severity out of range");
    CHECK(smbsign_severity_name(SMBSIGN_SEVERITY_COUNT) == NULL, "severity name out of range");
    CHECK(smbsign_signing_name(0) == NULL && smbsign_signing_name(SMBSIGN_SIGNING_COUNT) == NULL,
          "signing name unknown / out of range");
    CHECK(smbsign_signing_name(SMBSIGN_SIGNING_REQUIRED) != NULL, "signing name");
    CHECK(smbsign_mechanism_name(SMBSIGN_MECHANISM_COUNT) == NULL, "mechanism name out of range");
    CHECK(smbsign_mac_name(0) == NULL && smbsign_mac_name(SMBSIGN_MAC_AES_GMAC) != NULL, "mac name");
    CHECK(smbsign_verdict_name(SMBSIGN_VERDICT_COUNT) == NULL, "verdict name out of range");
    CHECK(smbsign_dialect_name(0x0311) != NULL && smbsign_dialect_name(0xffff) == NULL, "dialect name");
    CHECK(smbsign_cipher_name(0) == NULL, "cipher name 0");
    CHECK(smbsign_command_name(true, 0xffff) == NULL && smbsign_command_name(false, 0xffff) == NULL,
          "command name garbage");
    CHECK(smbsign_status_name(0xdeadbeefu) == NULL, "status name garbage");
    CHECK(smbsign_pdu_direction(NULL, 0) == 2 && smbsign_pdu_direction(NULL, 64) == 2,
          "pdu direction NULL");
    memset(buf, 0x41, 5);
    CHECK(smbsign_pdu_direction(buf, 5) == 2, "pdu direction garbage");
    CHECK(smbsign_pdu_direction(negotiate_header, sizeof negotiate_header) <= 2, "pdu direction");
    /* Options: NULL and garbage everywhere. */
    CHECK(smbsign_options_add_credentials(NULL, "password a:b") == SMBSIGN_NULL_PARAMETER, "options NULL");
    CHECK(smbsign_options_add_password(NULL, "a", "b") == SMBSIGN_NULL_PARAMETER, "password NULL options");
    CHECK(smbsign_options_add_nt_hash(NULL, "a", "00") == SMBSIGN_NULL_PARAMETER, "nt hash NULL options");
    CHECK(smbsign_options_add_session_key(NULL, 1, NULL, 0) == SMBSIGN_NULL_PARAMETER, "key NULL options");
    CHECK(smbsign_options_set_max_connections(NULL, 1) == SMBSIGN_NULL_PARAMETER, "max NULL options");
    CHECK(smbsign_options_last_error(NULL) == NULL, "options last error NULL");
    smbsign_options *opts = smbsign_options_new();
    CHECK(opts != NULL, "options_new");
    CHECK(smbsign_options_add_password(opts, NULL, "b") == SMBSIGN_NULL_PARAMETER, "password NULL user");
    CHECK(smbsign_options_add_password(opts, "a", NULL) == SMBSIGN_NULL_PARAMETER, "password NULL password");
    CHECK(smbsign_options_add_nt_hash(opts, "a", "zz") == SMBSIGN_INVALID_PARAMETER, "bad nt hash");
    CHECK(smbsign_options_add_session_key(opts, 1, NULL, 16) == SMBSIGN_NULL_PARAMETER, "key NULL bytes");
    CHECK(smbsign_options_add_session_key(opts, 1, buf, 7) == SMBSIGN_INVALID_PARAMETER, "key of 7 bytes");
    CHECK(smbsign_options_last_error(opts) != NULL, "options last error");
    CHECK(smbsign_options_set_max_connections(opts, 0) == SMBSIGN_INVALID_PARAMETER, "max 0");
    CHECK(smbsign_options_add_credentials(opts, "password LAB\\smblab:Passw0rd!") == SMBSIGN_OK, "options credentials");
    smbsign_scan *oscan = NULL;
    CHECK(smbsign_scan_file_with(NULL, opts, &oscan) == SMBSIGN_NULL_PARAMETER && !oscan, "scan_with NULL path");
    CHECK(smbsign_scan_file_with("/nonexistent/x.pcap", opts, &oscan) == SMBSIGN_IO_ERROR && !oscan, "scan_with missing");
    CHECK(smbsign_scan_memory(NULL, 10, opts, &oscan) == SMBSIGN_NULL_PARAMETER && !oscan, "scan memory NULL");
    CHECK(smbsign_scan_memory(buf, 5, NULL, &oscan) == SMBSIGN_NOT_A_CAPTURE && !oscan, "scan memory garbage");
    CHECK(smbsign_scan_memory(buf, 5, opts, NULL) == SMBSIGN_NULL_PARAMETER, "scan memory NULL out");
    CHECK(smbsign_scan_fd(-3, opts, &oscan) == SMBSIGN_INVALID_PARAMETER && !oscan, "scan fd negative");
    smbsign_analyzer *oa = smbsign_analyzer_new_with(opts);
    CHECK(oa != NULL, "analyzer_new_with");
    smbsign_analyzer_free(oa);
    smbsign_analyzer_free(smbsign_analyzer_new_with(NULL));
    smbsign_options_free(opts);
    smbsign_options_free(NULL);
    size_t cnt = 0;
    uint64_t ids[2];
    smbsign_session_detail detail;
    CHECK(smbsign_analyzer_connection_ids(NULL, ids, 2, &cnt) == SMBSIGN_NULL_PARAMETER, "ids NULL analyzer");
    CHECK(smbsign_connection_get_session_detail(NULL, 0, &detail) == SMBSIGN_NULL_PARAMETER, "detail NULL");
    CHECK(smbsign_connection_forged_frames(NULL, 0, ids, 2, &cnt) == SMBSIGN_NULL_PARAMETER, "frames NULL");
    smbsign_analyzer_free(NULL);
    smbsign_connection_free(NULL);
    smbsign_scan_free(NULL);
    smbsign_string_free(NULL);

    smbsign_analyzer *a = smbsign_analyzer_new();
    CHECK(a != NULL, "analyzer_new");
    CHECK(smbsign_analyzer_feed(a, 1, 0, 1, NULL, 10, ann, 4, &n) == SMBSIGN_NULL_PARAMETER,
          "NULL buffer with length");
    n = 777;
    CHECK(smbsign_analyzer_feed(a, 1, 0, 1, NULL, 0, ann, 4, &n) == SMBSIGN_NOT_SMB && n == 777,
          "zero-length PDU: NOT_SMB, nothing written");
    CHECK(smbsign_analyzer_feed(a, 1, 5, 1, buf, 10, ann, 4, &n) == SMBSIGN_INVALID_PARAMETER,
          "bad direction");
    CHECK(smbsign_analyzer_feed(a, 1, 0, 1, buf, 10, NULL, 4, &n) == SMBSIGN_NULL_PARAMETER,
          "NULL out with capacity");
    CHECK(smbsign_analyzer_set_endpoints(a, 1, NULL, "b") == SMBSIGN_NULL_PARAMETER, "NULL endpoint");
    CHECK(smbsign_analyzer_add_credentials(a, NULL) == SMBSIGN_NULL_PARAMETER, "NULL credentials");
    CHECK(smbsign_analyzer_add_credentials(a, "bogus entry") == SMBSIGN_INVALID_PARAMETER,
          "garbage credentials");
    CHECK(smbsign_analyzer_last_error(a) && strstr(smbsign_analyzer_last_error(a), "line 1"),
          "last error names the entry");
    CHECK(smbsign_analyzer_last_error(NULL) == NULL, "last error of NULL");
    CHECK(smbsign_analyzer_add_credentials(a, "nt-hash bob:zz") == SMBSIGN_INVALID_PARAMETER,
          "bad NT hash");
    CHECK(smbsign_analyzer_add_credentials(a, "password LAB\\smblab:Passw0rd!;session-key 0x1:000102030405060708090a0b0c0d0e0f")
              == SMBSIGN_OK,
          "password and session key");
    CHECK(smbsign_analyzer_connection(a, 424242, &conn) == SMBSIGN_NOT_FOUND && !conn,
          "unknown connection id");
    CHECK(smbsign_analyzer_get_posture(a, 424242, &posture) == SMBSIGN_NOT_FOUND,
          "posture of unknown connection id");
    CHECK(smbsign_analyzer_get_posture(a, 1, NULL) == SMBSIGN_NULL_PARAMETER, "posture NULL out");

    /* A real negotiate response, whole and truncated at every length. */
    CHECK(smbsign_analyzer_feed(a, 7, 1, 2, negotiate_header, sizeof negotiate_header, ann, 4, &n)
              == SMBSIGN_OK && n == 1 && ann[0].has_security_mode && ann[0].signing_required
              && strcmp(ann[0].dialect, "3.1.1") == 0,
          "negotiate response");
    for (size_t cut = 0; cut < sizeof negotiate_header; cut++) {
        smbsign_result r = smbsign_decode_message(negotiate_header, cut, ann, 4, &n);
        if (r != SMBSIGN_OK && r != SMBSIGN_PARTIAL && r != SMBSIGN_MALFORMED
            && r != SMBSIGN_NOT_SMB) {
            CHECK(0, "truncated negotiate gives a status");
            break;
        }
    }
    CHECK(1, "truncated negotiate at every length");

    /* Random garbage, with and without an SMB magic, on interleaved ids. */
    int bad_status = 0;
    n = 555;
    for (int i = 0; i < 20000; i++) {
        size_t len = next_byte() % sizeof buf;
        for (size_t k = 0; k < len; k++)
            buf[k] = next_byte();
        if (len >= 4 && (i & 1)) {
            buf[0] = (unsigned char)(0xfc + (i >> 1) % 4);
            memcpy(buf + 1, "SMB", 3);
        }
        smbsign_result r = smbsign_analyzer_feed(a, (uint64_t)(i % 37), (uint32_t)(i % 2),
                                                 (uint64_t)i, buf, len, ann, 4, &n);
        if (r != SMBSIGN_OK && r != SMBSIGN_PARTIAL && r != SMBSIGN_MALFORMED
            && r != SMBSIGN_NOT_SMB)
            bad_status++;
        /* Outputs only on success: a MALFORMED or NOT_SMB feed leaves n. */
        if ((r == SMBSIGN_MALFORMED || r == SMBSIGN_NOT_SMB) && n != 555)
            bad_status++;
        n = 555;
    }
    CHECK(bad_status == 0, "20000 random PDUs give OK/PARTIAL/MALFORMED/NOT_SMB, outputs on success only");
    CHECK(smbsign_analyzer_connection_count(a) <= 37, "interleaved ids tracked once each");

    /* A 16 MiB random buffer. */
    size_t big = 16u * 1024u * 1024u;
    unsigned char *huge = malloc(big + 8);
    if (huge) {
        for (size_t k = 0; k < big + 8; k++)
            huge[k] = next_byte();
        memcpy(huge, "\xfeSMB", 4);
        smbsign_result r = smbsign_analyzer_feed(a, 99, 0, 1, huge, SMBSIGN_MAX_PDU, ann, 4, &n);
        CHECK(r == SMBSIGN_MALFORMED || r == SMBSIGN_PARTIAL || r == SMBSIGN_OK,
              "a random PDU of SMBSIGN_MAX_PDU bytes");
        r = smbsign_analyzer_feed(a, 99, 0, 1, huge, SMBSIGN_MAX_PDU + 1, ann, 4, &n);
        CHECK(r == SMBSIGN_TOO_LARGE, "one byte past SMBSIGN_MAX_PDU");
        CHECK(smbsign_analyzer_last_error(a) && strstr(smbsign_analyzer_last_error(a), "SMBSIGN_MAX_PDU"),
              "last error names the limit");
        r = smbsign_analyzer_feed(a, 99, 0, 1, huge, big + 8, ann, 4, &n);
        CHECK(r == SMBSIGN_TOO_LARGE, "buffer past the NBSS limit");
        free(huge);
    }

    /* Snapshot, findings, sessions, JSON; then reuse an id after close. */
    CHECK(smbsign_analyzer_set_endpoints(a, 7, "10.0.0.1:50000", "10.0.0.2:445") == SMBSIGN_OK,
          "set endpoints");
    CHECK(smbsign_analyzer_connection(a, 7, &conn) == SMBSIGN_OK && conn, "snapshot");
    CHECK(smbsign_analyzer_get_posture(a, 7, &posture) == SMBSIGN_OK
              && posture.has_server_security_mode && posture.server_security_mode == 3
              && strcmp(posture.dialect, "3.1.1") == 0,
          "posture after the negotiate response");
    CHECK(smbsign_connection_get_info(conn, NULL) == SMBSIGN_NULL_PARAMETER, "info NULL out");
    CHECK(smbsign_connection_get_info(conn, &info) == SMBSIGN_OK
              && strcmp(info.server, "10.0.0.2:445") == 0,
          "info server endpoint");
    CHECK(smbsign_connection_get_finding(conn, info.finding_count, &finding) == SMBSIGN_OUT_OF_RANGE,
          "finding past the end");
    CHECK(smbsign_connection_get_session(conn, info.session_count, &session) == SMBSIGN_OUT_OF_RANGE,
          "session past the end");
    {
        smbsign_tunnel_info ti;
        smbsign_tree_connect tc;
        size_t frame_count = 7;
        CHECK(smbsign_connection_get_tunnel(conn, NULL) == SMBSIGN_NULL_PARAMETER, "tunnel NULL out");
        CHECK(smbsign_connection_get_tunnel(conn, &ti) == SMBSIGN_OK && ti.tree_connect_count == 0
                  && ti.encrypted_messages == info.encrypted_messages,
              "tunnel of a negotiate-only connection");
        CHECK(smbsign_connection_get_tree_connect(conn, ti.tree_connect_count, &tc)
                  == SMBSIGN_OUT_OF_RANGE,
              "tree connect past the end");
        CHECK(smbsign_connection_bad_tag_frames(conn, NULL, 1, &frame_count) == SMBSIGN_NULL_PARAMETER,
              "bad_tag_frames NULL out with room");
        CHECK(smbsign_connection_bad_tag_frames(conn, NULL, 0, &frame_count) == SMBSIGN_OK && frame_count == 0,
              "bad_tag_frames count only");
    }
    CHECK(smbsign_connection_to_json(conn, &json) == SMBSIGN_OK && json && json[0] == '{', "json");
    smbsign_string_free(json);
    smbsign_connection_free(conn);
    CHECK(smbsign_analyzer_mark_ended(a, 7) == SMBSIGN_OK, "mark ended");
    CHECK(smbsign_analyzer_mark_ended(a, 31337) == SMBSIGN_NOT_FOUND, "mark ended unknown id");
    CHECK(smbsign_analyzer_close(a, 7) == SMBSIGN_OK, "close");
    CHECK(smbsign_analyzer_close(a, 7) == SMBSIGN_NOT_FOUND, "close twice");
    CHECK(smbsign_analyzer_feed(a, 7, 1, 3, negotiate_header, sizeof negotiate_header, ann, 4, &n)
              != SMBSIGN_PANIC,
          "id reused after close");
    smbsign_analyzer_free(a);

    printf("%d passed, %d failed\n", count - failures, failures);
    return failures;
}
