// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The error code of a page fault the engine raised, which the engine does not report (SDM Vol. 3A, "Page-Fault
/// Exceptions"): the access is found from CR2 and the faulting instruction, then the page walker gives P, W/R, U/S,
/// RSVD and I/D for that access. In order: an instruction fetch when CR2 lies within the instruction's first 15 bytes
/// and a fetch there faults; else the instruction's memory operands (Iced's decode, implicit stack accesses included)
/// that cover CR2, a write for any operand the instruction writes (read-modify-write included); else a read, then a
/// write, at CR2.
/// </summary>
internal static class PageFaultCause
{
    private const int MaxInstructionLength = 15;
    private const ulong FlagAc = 1UL << 18;

    public static uint ErrorCode(Vcpu core)
    {
        ulong cr2 = core.ReadRegister(GuestRegister.Cr2);
        bool user = (core.ReadRegister(GuestRegister.Cs) & 3) == 3;
        AccessPrivilege fetch = user ? AccessPrivilege.User : AccessPrivilege.Supervisor;
        AccessPrivilege data = DataPrivilege(core);
        ulong linearIp = core.LinearInstructionPointer();

        if (cr2 - linearIp < MaxInstructionLength && Faults(core, cr2, PageAccess.Execute, fetch, out uint fetchCode))
        {
            return fetchCode;
        }

        Instruction instruction = core.DecodeCurrentInstruction();
        if (!instruction.IsInvalid)
        {
            InstructionInfo info = new InstructionInfoFactory().GetInfo(instruction);
            foreach (UsedMemory memory in info.GetUsedMemory())
            {
                if (!memory.TryGetVirtualAddress(0, out ulong address, (Register register, int _, int _, out ulong value) => TryRead(core, register, out value)))
                {
                    continue;
                }

                ulong size = (ulong)Math.Max(1, memory.MemorySize.GetSize());
                if (cr2 - address >= size)
                {
                    continue;
                }

                bool write = memory.Access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
                if (Faults(core, cr2, write ? PageAccess.Write : PageAccess.Read, data, out uint dataCode))
                {
                    return dataCode;
                }
            }
        }

        if (Faults(core, cr2, PageAccess.Read, data, out uint readCode) || Faults(core, cr2, PageAccess.Write, data, out readCode))
        {
            return readCode;
        }

        return (uint)PageFaultErrorCode.Present;
    }

    /// <summary>The rights of an explicit data access at the current privilege level: user at CPL 3; supervisor with
    /// SMAP when CR4.SMAP is set and EFLAGS.AC clear (SDM Vol. 3A 4.6).</summary>
    internal static AccessPrivilege DataPrivilege(Vcpu core)
    {
        bool user = (core.ReadRegister(GuestRegister.Cs) & 3) == 3;
        bool smap = (core.ReadRegister(GuestRegister.Cr4) & PagingState.Cr4Smap) != 0 && (core.ReadRegister(GuestRegister.Rflags) & FlagAc) == 0;
        return user ? AccessPrivilege.User : smap ? AccessPrivilege.SupervisorSmap : AccessPrivilege.Supervisor;
    }

    private static bool Faults(Vcpu core, ulong linear, PageAccess access, AccessPrivilege privilege, out uint errorCode)
    {
        Translation t = core.Translate(linear, access, privilege, setAccessedDirty: false);
        errorCode = (uint)t.ErrorCode;
        return !t.IsMapped && !t.IsNonCanonical;
    }

    /// <summary>Register values for Iced's address computation: general registers at their width, RIP/EIP (the next
    /// instruction's, as Iced passes it), and segment bases.</summary>
    internal static bool TryRead(Vcpu core, Register register, out ulong value)
    {
        value = 0;
        if (register.IsSegmentRegister())
        {
            GuestRegister? segment = register switch
            {
                Register.ES => GuestRegister.Es,
                Register.CS => GuestRegister.Cs,
                Register.SS => GuestRegister.Ss,
                Register.DS => GuestRegister.Ds,
                Register.FS => GuestRegister.Fs,
                Register.GS => GuestRegister.Gs,
                _ => null,
            };
            if (segment is not GuestRegister s)
            {
                return false;
            }

            value = core.SegmentBase(s);
            return true;
        }

        Register full = register.GetFullRegister();
        if (full is >= Register.RAX and <= Register.R15 && register.IsGPR())
        {
            ulong raw = core.ReadRegister((GuestRegister)(full - Register.RAX));
            int bits = register.GetSize() * 8;
            value = bits >= 64 ? raw : raw & ((1UL << bits) - 1);
            return true;
        }

        return false;
    }
}
