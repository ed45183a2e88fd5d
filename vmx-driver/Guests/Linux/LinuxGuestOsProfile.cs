// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Who runs on a core of a Linux guest, as the kernel itself says: the per-CPU <c>current_task</c> (read at the
/// per-CPU base in the GS base MSR in kernel mode, in IA32_KERNEL_GS_BASE in user mode, plus the variable's offset from
/// System.map) points at a <c>task_struct</c>, whose <c>tgid</c> is the process id, <c>pid</c> the thread id and
/// <c>comm</c> the name. The offsets come from the kernel's own BTF (<c>__start_BTF</c>..<c>__stop_BTF</c> in guest
/// memory), read once, the first time a question is asked after the kernel's image is mapped.
/// <para>Before the kernel runs (the decompressor) and before it sets the GS base, the core runs the boot task,
/// <c>init_task</c> (pid 0, "swapper"). Without System.map, without BTF symbols, or with BTF that cannot be read, the
/// profile answers as <see cref="DefaultGuestOsProfile"/> (CR3-based) and <see cref="Description"/> says why. Every
/// byte read is guest-controlled: sizes are bounded, a bad pointer gives the CR3-based answer for that question.</para>
/// </summary>
public sealed class LinuxGuestOsProfile : IGuestOsProfile
{
    /// <summary>IA32_KERNEL_GS_BASE (SDM Vol. 4, table 2-2): SWAPGS exchanges it with the GS base.</summary>
    public const uint MsrKernelGsBase = 0xC000_0102;

    /// <summary>How many times the BTF is looked for (each time CR3 has changed) before the profile gives up.</summary>
    public const int MaximumAttempts = 64;

    /// <summary>The name of the boot task, INIT_TASK_COMM (include/linux/init_task.h).</summary>
    public const string BootTaskName = "swapper";

    private const ulong KernelHalf = 0xFFFF_8000_0000_0000;
    private const ulong MaximumPerCpuOffset = 16 * 1024 * 1024;

    private readonly DefaultGuestOsProfile _fallback = new DefaultGuestOsProfile();
    private readonly Lock _gate = new();
    private readonly ulong _btfStart;
    private readonly ulong _btfLength;
    private readonly ulong? _currentTask;
    private readonly ulong? _pcpuHot;
    private readonly ulong _initTask;
    private TaskStructLayout? _layout;
    private string? _failure;
    private int _attempts;
    private ulong _lastCr3 = ulong.MaxValue;

    private LinuxGuestOsProfile(ulong btfStart, ulong btfLength, ulong? currentTask, ulong? pcpuHot, ulong initTask)
    {
        _btfStart = btfStart;
        _btfLength = btfLength;
        _currentTask = currentTask;
        _pcpuHot = pcpuHot;
        _initTask = initTask;
    }

    private LinuxGuestOsProfile(string failure)
    {
        _failure = failure;
    }

    /// <summary>What the profile reads, or why it answers CR3-based.</summary>
    public string Description
    {
        get
        {
            lock (_gate)
            {
                return _failure is string f ? $"CR3-based ({f})"
                    : _layout is TaskStructLayout l ? $"linux (task_struct from BTF: pid +0x{l.PidOffset:x}, tgid +0x{l.TgidOffset:x}, comm +0x{l.CommOffset:x})"
                    : "linux (BTF not read yet: the kernel has not mapped its image)";
            }
        }
    }

    /// <summary>The offsets, once read from BTF.</summary>
    public TaskStructLayout? Layout
    {
        get
        {
            lock (_gate)
            {
                return _layout;
            }
        }
    }

    /// <summary>The profile for a kernel with this System.map: CR3-based, saying why, when the map lacks what it needs.</summary>
    public static LinuxGuestOsProfile ForMap(SystemMap? map)
    {
        if (map is null)
        {
            return new LinuxGuestOsProfile("no System.map: give map=PATH to read Linux tasks");
        }

        IReadOnlyDictionary<string, ulong> s = map.Symbols;
        if (!s.TryGetValue("__start_BTF", out ulong start) || !s.TryGetValue("__stop_BTF", out ulong stop) || stop <= start)
        {
            return new LinuxGuestOsProfile($"{map.Name} has no __start_BTF/__stop_BTF: the kernel carries no BTF");
        }

        if (stop - start > Btf.MaximumBytes)
        {
            return new LinuxGuestOsProfile($"the kernel's BTF is {stop - start} bytes, more than the {Btf.MaximumBytes} accepted");
        }

        ulong? currentTask = s.TryGetValue("current_task", out ulong ct) && ct < MaximumPerCpuOffset ? ct : null;
        ulong? pcpuHot = s.TryGetValue("pcpu_hot", out ulong ph) && ph < MaximumPerCpuOffset ? ph : null;
        if (currentTask is null && pcpuHot is null)
        {
            return new LinuxGuestOsProfile($"{map.Name} has no per-CPU current_task or pcpu_hot");
        }

        if (!s.TryGetValue("init_task", out ulong initTask))
        {
            return new LinuxGuestOsProfile($"{map.Name} has no init_task");
        }

        return new LinuxGuestOsProfile(start, stop - start, currentTask, pcpuHot, initTask);
    }

    /// <inheritdoc/>
    public GuestProcess Current(Vcpu core)
    {
        ArgumentNullException.ThrowIfNull(core);
        TaskStructLayout? layout = Resolve(core, out bool failed);
        if (failed)
        {
            return _fallback.Current(core);
        }

        if (layout is null)
        {
            return new GuestProcess(0, 0, BootTaskName); // the kernel's image is not mapped yet: the boot task
        }

        ulong task = CurrentTask(core, layout);
        return TryReadTask(core, layout, task, out GuestProcess process) ? process : _fallback.Current(core);
    }

    private ulong CurrentTask(Vcpu core, TaskStructLayout layout)
    {
        bool user = (core.ReadRegister(GuestRegister.Cs) & 3) != 0;
        ulong gs = core.ReadRegister(GuestRegister.GsBase);
        ulong kernelGs = core.ReadMsr(MsrKernelGsBase);
        ulong perCpu = user ? kernelGs : gs;
        if (perCpu < KernelHalf)
        {
            perCpu = user ? gs : kernelGs; // between an entry and its SWAPGS
        }

        ulong? offset = layout.PcpuHotCurrentTask is long hot && _pcpuHot is ulong p ? p + (ulong)hot : _currentTask;
        if (perCpu < KernelHalf || offset is not ulong o)
        {
            return _initTask; // the per-CPU area is not set up yet: the boot task
        }

        Span<byte> pointer = stackalloc byte[8];
        return core.ReadVirtual(unchecked(perCpu + o), pointer) == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(pointer) : 0;
    }

    private static bool TryReadTask(Vcpu core, TaskStructLayout layout, ulong task, out GuestProcess process)
    {
        process = default;
        if (task < KernelHalf)
        {
            return false;
        }

        Span<byte> word = stackalloc byte[4];
        Span<byte> comm = stackalloc byte[TaskStructLayout.MaximumCommLength];
        comm = comm[..layout.CommLength];
        if (core.ReadVirtual(unchecked(task + (ulong)layout.PidOffset), word) != 4)
        {
            return false;
        }

        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(word);
        if (core.ReadVirtual(unchecked(task + (ulong)layout.TgidOffset), word) != 4
            || core.ReadVirtual(unchecked(task + (ulong)layout.CommOffset), comm) != comm.Length)
        {
            return false;
        }

        uint tgid = BinaryPrimitives.ReadUInt32LittleEndian(word);
        int end = comm.IndexOf((byte)0);
        process = new GuestProcess(tgid, pid, Printable(comm[..(end < 0 ? comm.Length : end)]));
        return true;
    }

    private static string Printable(ReadOnlySpan<byte> name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (byte b in name)
        {
            sb.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }

        return sb.ToString();
    }

    /// <summary>The layout, reading BTF the first time the kernel's image is mapped (each time CR3 changed, at most
    /// <see cref="MaximumAttempts"/> times); <paramref name="failed"/> once it cannot be done.</summary>
    private TaskStructLayout? Resolve(Vcpu core, out bool failed)
    {
        lock (_gate)
        {
            failed = _failure is not null;
            if (_layout is not null || failed)
            {
                return _layout;
            }

            ulong cr3 = core.ReadRegister(GuestRegister.Cr3);
            Span<byte> magic = stackalloc byte[2];
            if (cr3 == _lastCr3 || core.ReadVirtual(_btfStart, magic) != 2)
            {
                return null; // not mapped (yet) in this address space
            }

            _lastCr3 = cr3;
            byte[] blob = new byte[_btfLength];
            bool complete = core.ReadVirtual(_btfStart, blob) == blob.Length;
            if (complete && BinaryPrimitives.ReadUInt16LittleEndian(blob) == Btf.Magic)
            {
                if (!Btf.TryParse(blob, out Btf? btf, out string? error) || !TaskStructLayout.TryFrom(btf, out _layout, out error))
                {
                    _failure = error;
                    failed = true;
                }

                return _layout;
            }

            if (++_attempts >= MaximumAttempts)
            {
                _failure = $"no BTF at 0x{_btfStart:x} after {_attempts} address spaces ({(complete ? "bad magic" : "not all of it mapped")})";
                failed = true;
            }

            return null;
        }
    }
}
