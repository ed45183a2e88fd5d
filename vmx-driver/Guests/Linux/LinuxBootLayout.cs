// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Where a 64-bit Linux boot puts things in guest-physical memory. Low memory follows QEMU's x86_load_linux for a
/// "high and recent kernel" (boot_params at 0x10000, the command line at 0x20000, the protected-mode kernel at
/// 1 MiB); the initrd goes as high as QEMU puts it: <c>(initrd_max - size) &amp; ~4095</c> with initrd_max below the last
/// 128 KiB of RAM. The boot page tables, the entry stub and its stack also sit in low memory, which Linux reserves
/// (the first 1 MiB is never handed to its allocator).
/// </summary>
public sealed record LinuxBootLayout
{
    /// <summary>struct boot_params (the "zero page").</summary>
    public const ulong BootParamsAddress = 0x1_0000;

    /// <summary>The NUL-terminated command line.</summary>
    public const ulong CommandLineAddress = 0x2_0000;

    /// <summary>Identity-mapping page tables (<see cref="IdentityMap"/>: PML4, PDPT, the directories and a GDT page).</summary>
    public const ulong PageTablesAddress = 0x7_0000;

    /// <summary>The entry stub (see <see cref="LinuxEntryStub"/>) and the boot GDT it loads: right after the page tables.</summary>
    public const ulong EntryStubAddress = PageTablesAddress + IdentityMap.TablesSize;

    /// <summary>The stack the kernel is entered with (it grows down from here; the kernel sets up its own at once).</summary>
    public const ulong StackTop = 0x8_0000;

    /// <summary>Where the protected-mode kernel is loaded (code32_start of a bzImage).</summary>
    public const ulong KernelLoadAddress = 0x10_0000;

    /// <summary>boot_params.hdr.heap_end_ptr as QEMU sets it: cmdline_addr - real_addr - 0x200.</summary>
    public const ushort HeapEndPointer = (ushort)(CommandLineAddress - BootParamsAddress - 0x200);

    private const ulong PageMask = 0xFFF;
    private const uint XlfCanBeLoadedAbove4G = 0x0002;

    private LinuxBootLayout()
    {
    }

    /// <summary>Guest RAM.</summary>
    public ulong RamBytes { get; private init; }

    /// <summary>startup_64: the load address + 0x200.</summary>
    public const ulong Entry64 = KernelLoadAddress + SetupHeader.Entry64Offset;

    /// <summary>Where the kernel decompresses and runs: the load address aligned to kernel_alignment, and never below
    /// pref_address (LOAD_PHYSICAL_ADDR), which is what the decompressor does with a relocatable kernel.</summary>
    public ulong RuntimeStart { get; private init; }

    /// <summary>One past the last byte the kernel needs before it reads the e820 map (runtime start + init_size, or
    /// the end of the loaded image if that is higher).</summary>
    public ulong KernelEnd { get; private init; }

    /// <summary>The initrd's address (0 without an initrd).</summary>
    public ulong InitrdAddress { get; private init; }

    /// <summary>The initrd's size in bytes (0 without an initrd).</summary>
    public ulong InitrdSize { get; private init; }

    /// <summary>Computes the layout; errors name what does not fit and the RAM that would.</summary>
    /// <exception cref="GuestImageException">The command line is too long, the initrd is larger than RAM, or kernel and
    /// initrd do not both fit.</exception>
    public static LinuxBootLayout Compute(BzImage kernel, ulong ramBytes, long initrdBytes, int commandLineBytes)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentOutOfRangeException.ThrowIfNegative(initrdBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(commandLineBytes);
        const ulong MiB = 1024 * 1024;
        if (commandLineBytes > kernel.CommandLineSize)
        {
            throw new GuestImageException($"The kernel command line is {commandLineBytes} bytes; '{kernel.Name}' accepts at most {kernel.CommandLineSize} (cmdline_size).");
        }

        ulong alignment = kernel.KernelAlignment;
        ulong runtime = Math.Max((KernelLoadAddress + alignment - 1) & ~(alignment - 1), kernel.PreferredAddress);
        ulong kernelEnd = Math.Max(runtime + kernel.InitSize, KernelLoadAddress + (ulong)kernel.ProtectedModeKernel.Length);
        ulong usableTop = ramBytes > 2 * E820Map.HighMemory ? E820Map.UsableTop(ramBytes) : 0;
        ulong initrdAddress = 0;
        if (initrdBytes > 0)
        {
            // x86_load_linux: initrd_max from the header (or 4 GiB - 1 with XLF_CAN_BE_LOADED_ABOVE_4G), capped below
            // the firmware's reserve at the top of RAM; the initrd ends just below it, page aligned.
            ulong initrdMax = (kernel.XLoadFlags & XlfCanBeLoadedAbove4G) != 0 ? uint.MaxValue : kernel.InitrdAddressMax;
            if (usableTop > 0 && initrdMax >= usableTop)
            {
                initrdMax = usableTop - 1;
            }

            if (usableTop == 0 || (ulong)initrdBytes >= initrdMax)
            {
                throw new GuestImageException(
                    $"The initrd is {initrdBytes:N0} bytes, larger than the RAM it can be loaded into ({ramBytes / MiB} MiB of RAM, usable below 0x{usableTop:X}).");
            }

            initrdAddress = (initrdMax - (ulong)initrdBytes) & ~PageMask;
        }

        ulong limit = initrdBytes > 0 ? initrdAddress : usableTop;
        if (kernelEnd > limit)
        {
            ulong needed = (kernelEnd + (ulong)initrdBytes + E820Map.TopReserve + PageMask + MiB - 1) / MiB;
            throw new GuestImageException(
                $"'{kernel.Name}' needs RAM up to 0x{kernelEnd:X} (init_size 0x{kernel.InitSize:X} from 0x{runtime:X})" +
                (initrdBytes > 0 ? $" below the initrd ({initrdBytes:N0} bytes)" : string.Empty) +
                $"; the VM has {ramBytes / MiB} MiB: give it at least {needed} MiB (--memory).");
        }

        return new LinuxBootLayout
        {
            RamBytes = ramBytes,
            RuntimeStart = runtime,
            KernelEnd = kernelEnd,
            InitrdAddress = initrdAddress,
            InitrdSize = (ulong)initrdBytes,
        };
    }
}
