// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Protocol;
using HyperDbgRemote.Script;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// The agent's one register table: every name a debugger or a script may use and where its value lives. The names
/// and layouts of HyperDbg's registers (spec 6.3: rax … r15l with HyperDbg's r8h, the flag bits, rip/eip/ip,
/// segments, idtr/gdtr/ldtr/tr, control and debug registers) come from the script engine's table
/// (<see cref="ScriptRegisterInfo"/>), so <c>r</c>, scripts and halt notifications cannot disagree. The agent adds what
/// HyperDbg's scripts lack: <c>fs_base</c>, <c>gs_base</c> and <c>efer</c> (full registers) and <c>xmm0</c> …
/// <c>xmm15</c> (128 bits, for <c>r</c> only). Names are matched without case and with or without '@'. Writes to a part
/// merge into the full register and keep the other bits (HyperDbg's rule).
/// </summary>
internal static class RegisterNames
{
    // The full registers the wire adds (Protocol.WireRegisters.Extras) and where they live.
    private static readonly Dictionary<string, GuestRegister> s_extras = WireRegisters.Extras.ToDictionary(
        n => n,
        n => n switch { "fs_base" => GuestRegister.FsBase, "gs_base" => GuestRegister.GsBase, _ => GuestRegister.Efer },
        StringComparer.Ordinal);

    private static readonly GuestRegister?[] s_guestOf = BuildGuestMap();

    /// <summary>Every full register by its name, in the order of the script table, then the agent's additions.</summary>
    public static IReadOnlyList<string> Full { get; } =
        [.. Enum.GetValues<ScriptRegister>().Where(r => r != ScriptRegister.None && ScriptRegisterInfo.Of(r).Full == r).Select(ScriptRegisterInfo.NameOf), .. s_extras.Keys];

    /// <summary>The names <c>r</c> shows and halt notifications carry, in order.</summary>
    public static IReadOnlyList<string> Displayed { get; } =
    [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rip", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
        "rflags", "cs", "ss", "ds", "es", "fs", "gs", "cr0", "cr2", "cr3", "cr4", "cr8", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", "efer",
    ];

    /// <summary>The guest register holding a full script register, or null (the descriptor-table registers).</summary>
    public static GuestRegister? GuestOf(ScriptRegister full) => (int)full < s_guestOf.Length ? s_guestOf[(int)full] : null;

    /// <summary>Reads a full script register (idtr, gdtr, ldtr, tr: the table's base).</summary>
    public static ulong ReadFull(Vcpu core, ScriptRegister full)
    {
        ArgumentNullException.ThrowIfNull(core);
        return GuestOf(full) is GuestRegister g ? core.ReadRegister(g) : TableOf(full) is DescriptorTableRegister t ? core.ReadTableBase(t) : 0;
    }

    /// <summary>Writes a full script register; false for the read-only descriptor-table registers.</summary>
    public static bool TryWriteFull(Vcpu core, ScriptRegister full, ulong value)
    {
        ArgumentNullException.ThrowIfNull(core);
        if (GuestOf(full) is not GuestRegister g)
        {
            return false;
        }

        core.WriteRegister(g, value);
        return true;
    }

    /// <summary>Looks up a name held in a guest register (not the descriptor-table registers, not xmm).</summary>
    public static bool TryGet(string name, out GuestRegister register, out int shift, out int bits)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = Normalize(name);
        if (ScriptRegisterInfo.TryParse(n, out ScriptRegister script) && ScriptRegisterInfo.Of(script) is var info && GuestOf(info.Full) is GuestRegister g)
        {
            (register, shift, bits) = (g, info.Shift, info.Width);
            return true;
        }

        if (s_extras.TryGetValue(n, out register))
        {
            (shift, bits) = (0, 64);
            return true;
        }

        (register, shift, bits) = (default, 0, 0);
        return false;
    }

    /// <summary>True when <paramref name="name"/> is one the agent knows.</summary>
    public static bool IsKnown(string name) =>
        TryGet(name, out _, out _, out _) || TryParseXmm(name, out _) || (ScriptRegisterInfo.TryParse(Normalize(name), out ScriptRegister r) && TableOf(ScriptRegisterInfo.Of(r).Full) is not null);

    /// <summary>xmm0 to xmm15.</summary>
    public static bool TryParseXmm(string name, out int index)
    {
        ArgumentNullException.ThrowIfNull(name);
        return WireRegisters.TryParseXmm(Normalize(name), out index);
    }

    /// <summary>Reads a register or a part of one (64 bits at most; xmm registers through <see cref="Vcpu.ReadXmm"/>).</summary>
    public static ulong Read(Vcpu core, string name)
    {
        ArgumentNullException.ThrowIfNull(core);
        string n = Normalize(name);
        if (ScriptRegisterInfo.TryParse(n, out ScriptRegister script))
        {
            ScriptRegisterInfo info = ScriptRegisterInfo.Of(script);
            return (ReadFull(core, info.Full) >> info.Shift) & info.Mask;
        }

        return s_extras.TryGetValue(n, out GuestRegister g) ? core.ReadRegister(g) : throw Invalid(name);
    }

    /// <summary>Writes a register or a part of one (other bits kept); <paramref name="high"/> is bits 127:64 of an xmm
    /// register and must be 0 for every other register.</summary>
    public static void Write(Vcpu core, string name, ulong value, ulong high = 0)
    {
        ArgumentNullException.ThrowIfNull(core);
        string n = Normalize(name);
        try
        {
            if (TryParseXmm(n, out int xmm))
            {
                core.WriteXmm(xmm, ((UInt128)high << 64) | value);
                return;
            }

            if (high != 0)
            {
                throw new SessionException($"value {high:x}{value:x16} does not fit {name} (64 bits at most).");
            }

            if (!TryGet(n, out GuestRegister register, out int shift, out int bits))
            {
                throw ScriptRegisterInfo.TryParse(n, out _)
                    ? new SessionException($"{name} is read-only here (a descriptor-table register: its base is shown, not loaded).")
                    : Invalid(name);
            }

            if (bits < 64 && value >> bits != 0)
            {
                throw new SessionException($"value {value:x} does not fit {name} ({bits} bits).");
            }

            ulong full = bits == 64 ? value : (core.ReadRegister(register) & ~(((1UL << bits) - 1) << shift)) | (value << shift);
            core.WriteRegister(register, full);
        }
        catch (InvalidOperationException ex)
        {
            throw new SessionException(ex.Message, ex);
        }
    }

    private static string Normalize(string name) => name.TrimStart('@').ToLowerInvariant();

    private static SessionException Invalid(string name) => new($"invalid register '{name}'.");

    private static DescriptorTableRegister? TableOf(ScriptRegister full) => full switch
    {
        ScriptRegister.Gdtr => DescriptorTableRegister.Gdtr,
        ScriptRegister.Idtr => DescriptorTableRegister.Idtr,
        ScriptRegister.Ldtr => DescriptorTableRegister.Ldtr,
        ScriptRegister.Tr => DescriptorTableRegister.Tr,
        _ => null,
    };

    private static GuestRegister?[] BuildGuestMap()
    {
        ScriptRegister[] all = Enum.GetValues<ScriptRegister>();
        var map = new GuestRegister?[all.Max(r => (int)r) + 1];
        foreach (ScriptRegister r in all)
        {
            if (r != ScriptRegister.None && ScriptRegisterInfo.Of(r).Full == r && Enum.TryParse(r.ToString(), out GuestRegister g))
            {
                map[(int)r] = g;
            }
        }

        return map;
    }
}
