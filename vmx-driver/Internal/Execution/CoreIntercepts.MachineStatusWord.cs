// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Engine;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <content>LMSW and SMSW, the CR0 accesses that are not MOVs: their memory operand goes through the guest's segments
/// and paging as the instruction's own access, so an operand that does not map (or, for SMSW, is not writable) raises
/// #PF with CR2 and the error code through the guest's IDT.</content>
internal sealed partial class CoreIntercepts
{
    private const int PageFault = 14;
    private const ulong Cr4Umip = 1UL << 11;

    /// <summary>LMSW r/m16 (0F 01 /6): CR0 bits 0–3 from the operand, except that PE, once set, stays set (SDM Vol. 2A
    /// LMSW); a memory operand is read as the instruction reads it (#PF when it does not map).</summary>
    private void Lmsw(InterceptExit exit)
    {
        Instruction instruction = _core.DecodeCurrentInstruction();
        ulong source;
        if (instruction.Op0Kind == OpKind.Register)
        {
            source = _core.ReadRegister(GuestRegister.Rax + (instruction.Op0Register.GetFullRegister() - Register.RAX));
        }
        else
        {
            Span<byte> word = stackalloc byte[2];
            if (!TryOperandAddress(exit, instruction, "LMSW", out ulong address) || !CheckDataAccess(address, word.Length, PageAccess.Read))
            {
                return;
            }

            _ = _core.ReadVirtual(address, word);
            source = (ulong)(word[0] | (word[1] << 8));
        }

        ulong cr0 = _core.ReadRegister(GuestRegister.Cr0);
        _core.WriteRegister(GuestRegister.Cr0, (cr0 & ~0xFUL) | (source & 0xF) | (cr0 & 1));
        Skip(exit, instruction.Length);
    }

    /// <summary>
    /// SMSW r/m16 (0F 01 /4, SDM Vol. 2B SMSW): #GP(0) with CR4.UMIP set at CPL above 0; m16 stores CR0[15:0] (whatever
    /// the operand size; #PF when the word does not map or is not writable); r16 stores CR0[15:0] and keeps the
    /// register's other bits; r32 stores CR0[31:0], zero-extended (SDM: "zero-extend CR0[31:0], and store in r32";
    /// outside 64-bit mode the SDM leaves bits 31:16 undefined and processors store CR0's); r64 stores CR0
    /// zero-extended.
    /// </summary>
    private void Smsw(InterceptExit exit)
    {
        if ((_core.ReadRegister(GuestRegister.Cr4) & Cr4Umip) != 0 && _core.Context.ReadPrivilegeLevel() != 0)
        {
            _events.DeliverFault(GeneralProtection, 0);
            return;
        }

        Instruction instruction = _core.DecodeCurrentInstruction();
        ulong cr0 = _core.ReadRegister(GuestRegister.Cr0);
        if (instruction.Op0Kind == OpKind.Register)
        {
            Register register = instruction.Op0Register;
            GuestRegister full = GuestRegister.Rax + (register.GetFullRegister() - Register.RAX);
            ulong value = register.GetSize() switch
            {
                2 => (_core.ReadRegister(full) & ~0xFFFFUL) | (cr0 & 0xFFFF),
                4 => cr0 & uint.MaxValue,
                _ => cr0,
            };
            _core.WriteRegister(full, value);
        }
        else
        {
            if (!TryOperandAddress(exit, instruction, "SMSW", out ulong address) || !CheckDataAccess(address, 2, PageAccess.Write))
            {
                return;
            }

            Span<byte> word = [(byte)cr0, (byte)(cr0 >> 8)];
            _ = _core.WriteVirtual(address, word);
        }

        Skip(exit, instruction.Length);
    }

    /// <summary>The linear address of the instruction's memory operand (segment base included); false (the VM stops
    /// with a report) when it cannot be computed.</summary>
    private bool TryOperandAddress(InterceptExit exit, Instruction instruction, string name, out ulong address)
    {
        if (instruction.TryGetVirtualAddress(0, 0, out address, (Register register, int _, int _, out ulong value) => PageFaultCause.TryRead(_core, register, out value)))
        {
            return true;
        }

        _core.Fail($"core {_core.Index}: {name} at RIP 0x{exit.Rip:X}: its memory operand's address cannot be computed");
        return false;
    }

    /// <summary>
    /// Checks the instruction's data access of <paramref name="size"/> bytes at <paramref name="linear"/> on each page
    /// it touches, with the rights the current privilege level has (the accessed and dirty flags set as the CPU sets
    /// them). A page that does not allow it raises #PF (CR2 = the first byte there, SDM Vol. 3A 4.7) and a
    /// non-canonical address #GP(0); false then, and the instruction does not complete.
    /// </summary>
    private bool CheckDataAccess(ulong linear, int size, PageAccess access)
    {
        AccessPrivilege privilege = PageFaultCause.DataPrivilege(_core);
        ulong last = linear + (ulong)size - 1;
        ulong[] pages = (linear ^ last) >> 12 == 0 ? [linear] : [linear, last & ~0xFFFUL];
        foreach (ulong a in pages)
        {
            Translation t = _core.Translate(a, access, privilege, setAccessedDirty: true);
            if (t.IsNonCanonical)
            {
                _events.DeliverFault(GeneralProtection, 0);
                return false;
            }

            if (!t.IsMapped)
            {
                _core.WriteRegister(GuestRegister.Cr2, a);
                _events.DeliverFault(PageFault, (uint)t.ErrorCode);
                return false;
            }
        }

        return true;
    }
}
