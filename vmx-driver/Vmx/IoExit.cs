// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver;

/// <summary>
/// One I/O-instruction VM exit as the VMCS reports it: basic exit reason 30, the exit qualification, the VM-exit
/// instruction length, the guest-linear address and the instruction information for INS/OUTS, and the guest state
/// through <see cref="Core"/>. One instance per core is reused for every exit; do not keep it past the callback.
/// </summary>
/// <remarks>
/// REP-prefixed INS/OUTS exit once per iteration: each exit describes the element about to be transferred (RCX still
/// counts it, RSI/RDI point at it). Skipping an iteration consumes the element without any device access.
/// </remarks>
public sealed class IoExit
{
    internal IoExit(Vcpu core)
    {
        Core = core;
    }

    /// <summary>The core that exited; its registers are the guest's registers at the I/O instruction.</summary>
    public Vcpu Core { get; }

    /// <summary>Always <see cref="VmExitReason.IoInstruction"/>.</summary>
    public VmExitReason Reason { get; } = VmExitReason.IoInstruction;

    /// <summary>The exit qualification.</summary>
    public IoExitQualification Qualification { get; internal set; }

    /// <summary>The VM-exit instruction length.</summary>
    public int InstructionLength { get; internal set; }

    /// <summary>RIP of the I/O instruction (guest RIP still points at it, in both stages).</summary>
    public ulong Rip { get; internal set; }

    /// <summary>The instruction's bytes.</summary>
    public ReadOnlyMemory<byte> InstructionBytes { get; internal set; }

    /// <summary>The code size the instruction was decoded with: 16, 32 or 64.</summary>
    public int CodeBitness { get; internal set; }

    /// <summary>For INS/OUTS: the guest-linear address of the memory operand of this iteration; otherwise 0.</summary>
    public ulong GuestLinearAddress { get; internal set; }

    /// <summary>For INS/OUTS: the VM-exit instruction-information field (address size in bits 9:7, segment in 17:15).</summary>
    public uint InstructionInformation { get; internal set; }

    /// <summary>The stage of the current callback.</summary>
    public ExitStage Stage { get; internal set; }

    /// <summary>
    /// The value of the access: for OUT the value written (known after the pre stage), for IN the value read (known in
    /// the post stage).
    /// </summary>
    public uint Value { get; internal set; }

    /// <summary>Set in the pre stage to skip the instruction (short-circuit): no device access; RIP still advances.</summary>
    public bool SkipInstruction { get; set; }

    /// <summary>Set in the pre stage to be called again in the post stage.</summary>
    public bool PostStageRequested { get; set; }

    /// <summary>The I/O port (from the qualification).</summary>
    public ushort Port => Qualification.Port;

    /// <summary>The instruction disassembled (Intel syntax).</summary>
    public string Disassemble() => Internal.Execution.IoSiteDecoder.Format(InstructionBytes.Span, CodeBitness, Rip);
}
