package dcerpc

import "fmt"

// Fault status codes: the nca_s_* values of C706 appendix E, and the
// Windows error codes that Windows and Samba put in FAULT PDUs ([MS-RPCE]
// 2.2.2.11 and 3.1.1.5.5; Samba's DCERPC_FAULT_* names).
const (
	FaultOpRngError        uint32 = 0x1C010002
	FaultUnkIf             uint32 = 0x1C010003
	FaultProtoError        uint32 = 0x1C01000B
	FaultContextMismatch   uint32 = 0x1C00001A
	FaultInvalidTag        uint32 = 0x1C000006
	FaultInvalidBound      uint32 = 0x1C000007
	FaultAccessDenied      uint32 = 0x00000005
	FaultNDR               uint32 = 0x000006F7
	FaultCantPerform       uint32 = 0x000006D8
	FaultProcnumOutOfRange uint32 = 0x000006D1
)

var faultNames = map[uint32]string{
	0x1C010001:             "nca_s_comm_failure",
	FaultOpRngError:        "nca_s_op_rng_error",
	FaultUnkIf:             "nca_s_unk_if",
	0x1C010006:             "nca_s_wrong_boot_time",
	0x1C010009:             "nca_s_you_crashed",
	FaultProtoError:        "nca_s_proto_error",
	0x1C010013:             "nca_s_out_args_too_big",
	0x1C010014:             "nca_s_server_too_busy",
	0x1C010015:             "nca_s_fault_string_too_long",
	0x1C010017:             "nca_s_unsupported_type",
	0x1C000001:             "nca_s_fault_int_div_by_zero",
	0x1C000002:             "nca_s_fault_addr_error",
	0x1C000003:             "nca_s_fault_fp_div_zero",
	0x1C000004:             "nca_s_fault_fp_underflow",
	0x1C000005:             "nca_s_fault_fp_overflow",
	FaultInvalidTag:        "nca_s_fault_invalid_tag",
	FaultInvalidBound:      "nca_s_fault_invalid_bound",
	0x1C000008:             "nca_s_rpc_version_mismatch",
	0x1C000009:             "nca_s_unspec_reject",
	0x1C00000A:             "nca_s_bad_actid",
	0x1C00000B:             "nca_s_who_are_you_failed",
	0x1C00000C:             "nca_s_manager_not_entered",
	0x1C00000D:             "nca_s_fault_cancel",
	0x1C00000E:             "nca_s_fault_ill_inst",
	0x1C00000F:             "nca_s_fault_fp_error",
	0x1C000010:             "nca_s_fault_int_overflow",
	0x1C000012:             "nca_s_fault_unspec",
	0x1C000013:             "nca_s_fault_remote_comm_failure",
	0x1C000014:             "nca_s_fault_pipe_empty",
	0x1C000015:             "nca_s_fault_pipe_closed",
	0x1C000016:             "nca_s_fault_pipe_order",
	0x1C000017:             "nca_s_fault_pipe_discipline",
	0x1C000018:             "nca_s_fault_pipe_comm_error",
	0x1C000019:             "nca_s_fault_pipe_memory",
	FaultContextMismatch:   "nca_s_fault_context_mismatch",
	0x1C00001B:             "nca_s_fault_remote_no_memory",
	0x1C00001C:             "nca_s_invalid_pres_context_id",
	0x1C00001D:             "nca_s_unsupported_authn_level",
	0x1C00001F:             "nca_s_invalid_checksum",
	0x1C000020:             "nca_s_invalid_crc",
	0x1C000021:             "nca_s_fault_user_defined",
	0x1C000022:             "nca_s_fault_tx_open_failed",
	0x1C000023:             "nca_s_fault_codeset_conv_error",
	0x1C000024:             "nca_s_fault_object_not_found",
	0x1C000025:             "nca_s_fault_no_client_stub",
	FaultAccessDenied:      "nca_s_fault_access_denied",
	FaultNDR:               "nca_s_fault_ndr",
	FaultCantPerform:       "nca_s_fault_cant_perform",
	FaultProcnumOutOfRange: "rpc_s_procnum_out_of_range",
	0x000006F4:             "rpc_x_null_ref_pointer",
	0x000006F8:             "rpc_x_invalid_es_action",
	0x00000721:             "nca_s_fault_sec_pkg_error",
	0x00000057:             "nca_s_fault_invalid_parameter",
	0x00000001:             "nca_s_fault_other",
	0x00000042:             "nca_s_fault_todo",
	0x000006BF:             "rpc_s_call_failed_dne",
	0x000006BE:             "rpc_s_call_failed",
	0x000006C6:             "rpc_s_invalid_bound",
	0x000006E4:             "rpc_s_call_cancelled",
}

// Fault is a FAULT PDU: the server refused or failed the call.
type Fault struct {
	Status uint32
	// DidNotExecute is the PFC_DID_NOT_EXECUTE flag: the server promises
	// the call had no effect.
	DidNotExecute bool
}

// FaultName returns the name of a fault status, or its hex value.
func FaultName(status uint32) string {
	if n, ok := faultNames[status]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", status)
}

// Name returns the fault's name ("nca_s_op_rng_error").
func (f *Fault) Name() string { return FaultName(f.Status) }

func (f *Fault) Error() string {
	return fmt.Sprintf("dcerpc: fault %s (0x%08x)", f.Name(), f.Status)
}
