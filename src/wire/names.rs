//! Names of wire values as the specifications spell them, one table each.
//! The C API exports these (`smbsign_*_name`), so the plugin and C tools
//! never keep copies. A value with no name here is printed in hex by the
//! caller: unknown values survive.

use super::NtStatus;
use super::smb1::Smb1Command;
use super::smb2::Smb2Command;

/// SMB2 command names (MS-SMB2 2.2.1.2).
pub fn smb2_command_name(c: Smb2Command) -> Option<&'static str> {
    Some(match c {
        Smb2Command::Negotiate => "NEGOTIATE",
        Smb2Command::SessionSetup => "SESSION_SETUP",
        Smb2Command::Logoff => "LOGOFF",
        Smb2Command::TreeConnect => "TREE_CONNECT",
        Smb2Command::TreeDisconnect => "TREE_DISCONNECT",
        Smb2Command::Create => "CREATE",
        Smb2Command::Close => "CLOSE",
        Smb2Command::Flush => "FLUSH",
        Smb2Command::Read => "READ",
        Smb2Command::Write => "WRITE",
        Smb2Command::Lock => "LOCK",
        Smb2Command::Ioctl => "IOCTL",
        Smb2Command::Cancel => "CANCEL",
        Smb2Command::Echo => "ECHO",
        Smb2Command::QueryDirectory => "QUERY_DIRECTORY",
        Smb2Command::ChangeNotify => "CHANGE_NOTIFY",
        Smb2Command::QueryInfo => "QUERY_INFO",
        Smb2Command::SetInfo => "SET_INFO",
        Smb2Command::OplockBreak => "OPLOCK_BREAK",
        _ => return None,
    })
}

/// SMB1 command names (MS-CIFS 2.2.2.1), for the commands smbsign decodes.
pub fn smb1_command_name(c: Smb1Command) -> Option<&'static str> {
    Some(match c {
        Smb1Command::Close => "SMB_COM_CLOSE",
        Smb1Command::Echo => "SMB_COM_ECHO",
        Smb1Command::LockingAndx => "SMB_COM_LOCKING_ANDX",
        Smb1Command::Transaction => "SMB_COM_TRANSACTION",
        Smb1Command::Transaction2 => "SMB_COM_TRANSACTION2",
        Smb1Command::OpenAndx => "SMB_COM_OPEN_ANDX",
        Smb1Command::ReadAndx => "SMB_COM_READ_ANDX",
        Smb1Command::WriteAndx => "SMB_COM_WRITE_ANDX",
        Smb1Command::TreeDisconnect => "SMB_COM_TREE_DISCONNECT",
        Smb1Command::Negotiate => "SMB_COM_NEGOTIATE",
        Smb1Command::SessionSetupAndx => "SMB_COM_SESSION_SETUP_ANDX",
        Smb1Command::LogoffAndx => "SMB_COM_LOGOFF_ANDX",
        Smb1Command::TreeConnectAndx => "SMB_COM_TREE_CONNECT_ANDX",
        Smb1Command::NtTransact => "SMB_COM_NT_TRANSACT",
        Smb1Command::NtCreateAndx => "SMB_COM_NT_CREATE_ANDX",
        Smb1Command::NtCancel => "SMB_COM_NT_CANCEL",
        _ => return None,
    })
}

/// NT status names (MS-ERREF 2.3.1) for the statuses smbsign reasons about.
pub fn nt_status_name(s: NtStatus) -> Option<&'static str> {
    Some(match s {
        NtStatus::Success => "STATUS_SUCCESS",
        NtStatus::Pending => "STATUS_PENDING",
        NtStatus::MoreProcessingRequired => "STATUS_MORE_PROCESSING_REQUIRED",
        NtStatus::AccessDenied => "STATUS_ACCESS_DENIED",
        NtStatus::LogonFailure => "STATUS_LOGON_FAILURE",
        NtStatus::NotSupported => "STATUS_NOT_SUPPORTED",
        NtStatus::NetworkSessionExpired => "STATUS_NETWORK_SESSION_EXPIRED",
        NtStatus::UserSessionDeleted => "STATUS_USER_SESSION_DELETED",
        NtStatus::InvalidParameter => "STATUS_INVALID_PARAMETER",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_specifications_and_unknowns_have_none() {
        assert_eq!(smb2_command_name(Smb2Command(1)), Some("SESSION_SETUP"));
        assert_eq!(smb2_command_name(Smb2Command(0x13)), None);
        assert_eq!(
            smb1_command_name(Smb1Command(0x72)),
            Some("SMB_COM_NEGOTIATE")
        );
        assert_eq!(smb1_command_name(Smb1Command(0x01)), None);
        assert_eq!(
            nt_status_name(NtStatus(0xC000_0022)),
            Some("STATUS_ACCESS_DENIED")
        );
        assert_eq!(nt_status_name(NtStatus(0xC000_0001)), None);
    }
}
