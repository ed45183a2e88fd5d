// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Session;

/// <summary>
/// Register names as HyperDbg spells them (spec 6.3): the 64-bit registers and their parts (eax, ax, al, ah, sil,
/// r8d, r8w, r8h (bits 15:8, a HyperDbg name), r8l, …), segment, control and debug registers, rip and rflags.
/// Writes to a part merge into the full register and keep the other bits (HyperDbg's rule).
/// </summary>
internal static class RegisterNames
{
    private static readonly Dictionary<string, (GuestRegister Register, int Shift, int Bits)> s_names = Build();

    private static Dictionary<string, (GuestRegister, int, int)> Build()
    {
        var d = new Dictionary<string, (GuestRegister, int, int)>(StringComparer.OrdinalIgnoreCase);
        string[] legacy = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
        for (int i = 0; i < legacy.Length; i++)
        {
            var reg = (GuestRegister)i;
            string n = legacy[i];
            d["r" + n] = (reg, 0, 64);
            d["e" + n] = (reg, 0, 32);
            d[n] = (reg, 0, 16);
            if (i < 4)
            {
                d[n[0] + "l"] = (reg, 0, 8);
                d[n[0] + "h"] = (reg, 8, 8);
            }
            else
            {
                d[n + "l"] = (reg, 0, 8);
            }
        }

        for (int i = 8; i <= 15; i++)
        {
            var reg = (GuestRegister)i;
            d[$"r{i}"] = (reg, 0, 64);
            d[$"r{i}d"] = (reg, 0, 32);
            d[$"r{i}w"] = (reg, 0, 16);
            d[$"r{i}h"] = (reg, 8, 8);
            d[$"r{i}l"] = (reg, 0, 8);
            d[$"r{i}b"] = (reg, 0, 8);
        }

        d["rip"] = (GuestRegister.Rip, 0, 64);
        d["eip"] = (GuestRegister.Rip, 0, 32);
        d["ip"] = (GuestRegister.Rip, 0, 16);
        d["rflags"] = (GuestRegister.Rflags, 0, 64);
        d["eflags"] = (GuestRegister.Rflags, 0, 32);
        d["flags"] = (GuestRegister.Rflags, 0, 16);
        foreach (GuestRegister r in new[] { GuestRegister.Cs, GuestRegister.Ds, GuestRegister.Es, GuestRegister.Fs, GuestRegister.Gs, GuestRegister.Ss })
        {
            d[r.ToString().ToLowerInvariant()] = (r, 0, 16);
        }

        foreach (GuestRegister r in new[] { GuestRegister.Cr0, GuestRegister.Cr2, GuestRegister.Cr3, GuestRegister.Cr4, GuestRegister.Cr8, GuestRegister.Dr0, GuestRegister.Dr1, GuestRegister.Dr2, GuestRegister.Dr3, GuestRegister.Dr6, GuestRegister.Dr7, GuestRegister.Efer })
        {
            d[r.ToString().ToLowerInvariant()] = (r, 0, 64);
        }

        d["fs_base"] = (GuestRegister.FsBase, 0, 64);
        d["gs_base"] = (GuestRegister.GsBase, 0, 64);
        return d;
    }

    /// <summary>Looks a name up (with or without '@').</summary>
    public static bool TryGet(string name, out GuestRegister register, out int shift, out int bits)
    {
        if (s_names.TryGetValue(name.TrimStart('@'), out var r))
        {
            (register, shift, bits) = r;
            return true;
        }

        (register, shift, bits) = (default, 0, 0);
        return false;
    }

    /// <summary>Reads a register or a part of one.</summary>
    public static ulong Read(Vcpu core, string name)
    {
        if (!TryGet(name, out GuestRegister reg, out int shift, out int bits))
        {
            throw new SessionException($"invalid register '{name}'.");
        }

        ulong full = core.ReadRegister(reg);
        return bits == 64 ? full : (full >> shift) & ((1UL << bits) - 1);
    }

    /// <summary>Writes a register or a part of one (other bits kept).</summary>
    public static void Write(Vcpu core, string name, ulong value)
    {
        if (!TryGet(name, out GuestRegister reg, out int shift, out int bits))
        {
            throw new SessionException($"invalid register '{name}'.");
        }

        if (bits < 64 && value >> bits != 0)
        {
            throw new SessionException($"value {value:x} does not fit {name} ({bits} bits).");
        }

        ulong full = bits == 64 ? value : (core.ReadRegister(reg) & ~(((1UL << bits) - 1) << shift)) | (value << shift);
        try
        {
            core.WriteRegister(reg, full);
        }
        catch (InvalidOperationException ex)
        {
            throw new SessionException(ex.Message, ex);
        }
    }

    /// <summary>The names <c>r</c> shows, in order.</summary>
    public static IReadOnlyList<string> Displayed { get; } =
    [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rip", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
        "rflags", "cs", "ss", "ds", "es", "fs", "gs", "cr0", "cr2", "cr3", "cr4", "cr8", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", "efer",
    ];
}
