// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Frozen;

namespace HyperDbgRemote.Script.Internal;

/// <summary>Names and layouts of every script register (spec 6.3, HyperDbg GRAM <c>.Registers</c> and SREGS).</summary>
internal static class RegisterTable
{
    public const int FullWidth = 64;
    private const int DwordWidth = 32;
    private const int WordWidth = 16;
    private const int ByteWidth = 8;
    private const int HighByteShift = 8;

    // RFLAGS bit positions (SDM Vol. 1, 3.4.3).
    private const int CarryFlagBit = 0;
    private const int ParityFlagBit = 2;
    private const int AuxiliaryFlagBit = 4;
    private const int ZeroFlagBit = 6;
    private const int SignFlagBit = 7;
    private const int TrapFlagBit = 8;
    private const int InterruptFlagBit = 9;
    private const int DirectionFlagBit = 10;
    private const int OverflowFlagBit = 11;
    private const int IoplShift = 12;
    private const int IoplWidth = 2;
    private const int NestedTaskBit = 14;
    private const int ResumeFlagBit = 16;
    private const int Virtual8086Bit = 17;
    private const int AlignmentCheckBit = 18;
    private const int VirtualInterruptFlagBit = 19;
    private const int VirtualInterruptPendingBit = 20;
    private const int IdFlagBit = 21;

    private static readonly ScriptRegisterInfo[] s_info = BuildInfo();
    private static readonly string[] s_names = BuildNames();
    private static readonly FrozenDictionary<string, ScriptRegister> s_byName = BuildLookup();

    /// <summary>Layouts indexed by register, for the interpreter's hot path (index 0 is unused).</summary>
    public static ReadOnlySpan<ScriptRegisterInfo> Layouts => s_info;

    public static ScriptRegisterInfo Info(ScriptRegister register)
    {
        int index = (int)register;
        if ((uint)index >= (uint)s_info.Length || register == ScriptRegister.None)
        {
            throw new ArgumentOutOfRangeException(nameof(register), register, "not a script register");
        }

        return s_info[index];
    }

    public static string Name(ScriptRegister register) => s_names[(int)register];

    public static bool TryParse(string name, out ScriptRegister register) => s_byName.TryGetValue(name, out register);

    public static bool TryParse(ReadOnlySpan<char> name, out ScriptRegister register) =>
        s_byName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out register);

    /// <summary>All registers with their names, for tests and documentation.</summary>
    public static IEnumerable<ScriptRegister> All =>
        Enum.GetValues<ScriptRegister>().Where(static r => r != ScriptRegister.None);

    private static string[] BuildNames()
    {
        ScriptRegister[] values = Enum.GetValues<ScriptRegister>();
        string[] names = new string[values.Length];
        foreach (ScriptRegister r in values)
        {
            names[(int)r] = r == ScriptRegister.None ? string.Empty : r.ToString().ToLowerInvariant();
        }

        return names;
    }

    private static FrozenDictionary<string, ScriptRegister> BuildLookup()
    {
        var map = new Dictionary<string, ScriptRegister>(StringComparer.Ordinal);
        foreach (ScriptRegister r in All)
        {
            map.Add(s_names[(int)r], r);
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static ScriptRegisterInfo[] BuildInfo()
    {
        ScriptRegister[] values = Enum.GetValues<ScriptRegister>();
        var info = new ScriptRegisterInfo[values.Length];
        for (ScriptRegister r = ScriptRegister.Rax; r <= ScriptRegister.Dr7; r++)
        {
            info[(int)r] = new ScriptRegisterInfo(r, 0, FullWidth);
        }

        void Legacy(ScriptRegister full, ScriptRegister e, ScriptRegister x, ScriptRegister h, ScriptRegister l)
        {
            info[(int)e] = new ScriptRegisterInfo(full, 0, DwordWidth);
            info[(int)x] = new ScriptRegisterInfo(full, 0, WordWidth);
            if (h != ScriptRegister.None)
            {
                info[(int)h] = new ScriptRegisterInfo(full, HighByteShift, ByteWidth);
            }

            info[(int)l] = new ScriptRegisterInfo(full, 0, ByteWidth);
        }

        Legacy(ScriptRegister.Rax, ScriptRegister.Eax, ScriptRegister.Ax, ScriptRegister.Ah, ScriptRegister.Al);
        Legacy(ScriptRegister.Rcx, ScriptRegister.Ecx, ScriptRegister.Cx, ScriptRegister.Ch, ScriptRegister.Cl);
        Legacy(ScriptRegister.Rdx, ScriptRegister.Edx, ScriptRegister.Dx, ScriptRegister.Dh, ScriptRegister.Dl);
        Legacy(ScriptRegister.Rbx, ScriptRegister.Ebx, ScriptRegister.Bx, ScriptRegister.Bh, ScriptRegister.Bl);
        Legacy(ScriptRegister.Rsp, ScriptRegister.Esp, ScriptRegister.Sp, ScriptRegister.None, ScriptRegister.Spl);
        Legacy(ScriptRegister.Rbp, ScriptRegister.Ebp, ScriptRegister.Bp, ScriptRegister.None, ScriptRegister.Bpl);
        Legacy(ScriptRegister.Rsi, ScriptRegister.Esi, ScriptRegister.Si, ScriptRegister.None, ScriptRegister.Sil);
        Legacy(ScriptRegister.Rdi, ScriptRegister.Edi, ScriptRegister.Di, ScriptRegister.None, ScriptRegister.Dil);

        // r8..r15: d (31:0), w (15:0), h (15:8, a HyperDbg invention), l (7:0); the enum keeps the four in that order.
        for (int n = 0; n < 8; n++)
        {
            ScriptRegister full = ScriptRegister.R8 + n;
            ScriptRegister d = ScriptRegister.R8d + (n * 4);
            Legacy(full, d, d + 1, d + 2, d + 3);
        }

        info[(int)ScriptRegister.Eip] = new ScriptRegisterInfo(ScriptRegister.Rip, 0, DwordWidth);
        info[(int)ScriptRegister.Ip] = new ScriptRegisterInfo(ScriptRegister.Rip, 0, WordWidth);
        info[(int)ScriptRegister.Eflags] = new ScriptRegisterInfo(ScriptRegister.Rflags, 0, DwordWidth);
        info[(int)ScriptRegister.Flags] = new ScriptRegisterInfo(ScriptRegister.Rflags, 0, WordWidth);

        void Flag(ScriptRegister r, int bit, int width = 1) => info[(int)r] = new ScriptRegisterInfo(ScriptRegister.Rflags, bit, width);
        Flag(ScriptRegister.Cf, CarryFlagBit);
        Flag(ScriptRegister.Pf, ParityFlagBit);
        Flag(ScriptRegister.Af, AuxiliaryFlagBit);
        Flag(ScriptRegister.Zf, ZeroFlagBit);
        Flag(ScriptRegister.Sf, SignFlagBit);
        Flag(ScriptRegister.Tf, TrapFlagBit);
        Flag(ScriptRegister.If, InterruptFlagBit);
        Flag(ScriptRegister.Df, DirectionFlagBit);
        Flag(ScriptRegister.Of, OverflowFlagBit);
        Flag(ScriptRegister.Iopl, IoplShift, IoplWidth);
        Flag(ScriptRegister.Nt, NestedTaskBit);
        Flag(ScriptRegister.Rf, ResumeFlagBit);
        Flag(ScriptRegister.Vm, Virtual8086Bit);
        Flag(ScriptRegister.Ac, AlignmentCheckBit);
        Flag(ScriptRegister.Vif, VirtualInterruptFlagBit);
        Flag(ScriptRegister.Vip, VirtualInterruptPendingBit);
        Flag(ScriptRegister.Id, IdFlagBit);
        return info;
    }
}
