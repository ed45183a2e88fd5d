// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>
/// A Linux kernel a <see cref="BiosGuest"/> boots as QEMU's <c>-kernel</c>, <c>-initrd</c> and <c>-append</c> do: through
/// fw_cfg and QEMU's option ROM (<see cref="FwCfgLinuxBoot"/>).
/// </summary>
public sealed class BiosKernel
{
    /// <summary>A kernel, an optional initrd, the command line and the option ROM's bytes.</summary>
    /// <exception cref="GuestImageException">The command line has characters other than printable ASCII.</exception>
    public BiosKernel(BzImage kernel, byte[]? initrd, string commandLine, byte[] optionRom, string? initrdName = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(optionRom);
        foreach (char c in commandLine)
        {
            if (c is < ' ' or > '~')
            {
                throw new GuestImageException($"The kernel command line may hold printable ASCII only; it has the character U+{(int)c:X4}.");
            }
        }

        Kernel = kernel;
        Initrd = initrd is { Length: > 0 } ? initrd : null;
        InitrdName = initrdName ?? "(memory)";
        CommandLine = commandLine;
        OptionRom = optionRom;
    }

    /// <summary>Reads the files: the kernel (a bzImage), the initrd (optional) and the option ROM.</summary>
    /// <exception cref="GuestImageException">A file is missing or unusable; the message names it (for the option ROM,
    /// Debian's package qemu-system-data).</exception>
    public static BiosKernel FromFiles(string kernelPath, string? initrdPath, string commandLine, string optionRomPath = FwCfgLinuxBoot.DefaultOptionRomPath)
    {
        BzImage kernel = BzImage.FromFile(kernelPath);
        byte[]? initrd = initrdPath is null ? null : ImageFile.Read(initrdPath, "initrd", (long)VmConfiguration.MaximumMemoryBytes);
        byte[] rom = FwCfgLinuxBoot.ReadOptionRom(optionRomPath);
        return new BiosKernel(kernel, initrd, commandLine, rom, initrdPath);
    }

    /// <summary>The kernel.</summary>
    public BzImage Kernel { get; }

    /// <summary>The initrd, or null.</summary>
    public byte[]? Initrd { get; }

    /// <summary>The initrd's file name, for messages.</summary>
    public string InitrdName { get; }

    /// <summary>The kernel command line.</summary>
    public string CommandLine { get; }

    /// <summary>QEMU's linuxboot_dma.bin.</summary>
    public byte[] OptionRom { get; }
}
