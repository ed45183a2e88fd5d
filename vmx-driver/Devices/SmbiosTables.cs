// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Text;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The SMBIOS tables QEMU 7.2's <c>pc</c> machine hands the firmware in fw_cfg ("etc/smbios/smbios-tables" and the
/// 2.8 entry point "etc/smbios/smbios-anchor"; SeaBIOS copies them to the F segment, adds its own BIOS information
/// (type 0), fills in the table address and the checksums): system (type 1, "QEMU", the machine's description and
/// name, a zero UUID), chassis (3), one processor per core (4), the physical memory array (16), one memory device per
/// 16 GiB (17), the array's mapped addresses (19), boot information (32) and the end (127), with QEMU's handles and
/// defaults. The processor ID is our CPU's (CPUID leaf 1 EAX and EDX), not QEMU's. Linux prints the system's names
/// ("DMI: QEMU Standard PC (i440FX + PIIX, 1996), BIOS ...") and the version ("SMBIOS 2.8 present.").
/// </summary>
public static class SmbiosTables
{
    /// <summary>The fw_cfg file with the structures.</summary>
    public const string TablesFile = "etc/smbios/smbios-tables";

    /// <summary>The fw_cfg file with the entry point.</summary>
    public const string AnchorFile = "etc/smbios/smbios-anchor";

    /// <summary>The system's manufacturer (type 1), as QEMU's.</summary>
    public const string Manufacturer = "QEMU";

    /// <summary>The system's product name (type 1): QEMU's description of the i440FX machine.</summary>
    public const string ProductName = "Standard PC (i440FX + PIIX, 1996)";

    /// <summary>The system's version (type 1): the machine type QEMU 7.2's <c>-M pc</c> stands for.</summary>
    public const string MachineVersion = "pc-i440fx-7.2";

    private const ulong DimmBytes = 16UL << 30;
    private const ulong MiB = 1UL << 20;

    /// <summary>The structures and the entry point for <paramref name="ramBytes"/> of RAM at address 0 and
    /// <paramref name="cores"/> CPUs.</summary>
    public static (byte[] Tables, byte[] Anchor) Build(ulong ramBytes, int cores)
    {
        ArgumentOutOfRangeException.ThrowIfZero(ramBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(cores, 1);
        var tables = new List<byte>();
        int count = 0;
        int largest = 0;

        void Add(byte[] formatted, params string[] strings)
        {
            var s = new List<byte>(formatted);
            foreach (string text in strings)
            {
                s.AddRange(Encoding.ASCII.GetBytes(text));
                s.Add(0);
            }

            // A structure without strings ends with two zeros; one with strings with the last string's zero and one more.
            s.Add(0);
            if (strings.Length == 0)
            {
                s.Add(0);
            }

            tables.AddRange(s);
            largest = Math.Max(largest, s.Count);
            count++;
        }

        // Type 1, system information: manufacturer, product, version; no serial; zero UUID; wake-up by power switch.
        byte[] t1 = Header(1, 0x1B, 0x0100);
        t1[4] = 1;
        t1[5] = 2;
        t1[6] = 3;
        t1[0x18] = 6;
        Add(t1, Manufacturer, ProductName, MachineVersion);

        // Type 3, chassis: "other", safe boot-up, power supply and thermal states, security unknown.
        byte[] t3 = Header(3, 0x16, 0x0300);
        t3[4] = 1;
        t3[5] = 1;
        t3[6] = 2;
        t3[9] = 3;
        t3[0x0A] = 3;
        t3[0x0B] = 3;
        t3[0x0C] = 2;
        Add(t3, Manufacturer, MachineVersion);

        // Type 4 per core: central processor, family "other", our CPUID signature and features, 2000 MHz (QEMU's
        // default), populated and enabled, one core and thread, 64-bit capable.
        CpuidResult leaf1 = CpuidTable.Lookup(1, 0, 0);
        for (int i = 0; i < cores; i++)
        {
            byte[] t4 = Header(4, 0x2A, (ushort)(0x0400 + i));
            t4[4] = 1;
            t4[5] = 3;
            t4[6] = 1;
            t4[7] = 2;
            BinaryPrimitives.WriteUInt32LittleEndian(t4.AsSpan(8), leaf1.Eax);
            BinaryPrimitives.WriteUInt32LittleEndian(t4.AsSpan(12), leaf1.Edx);
            t4[0x10] = 3;
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x14), 2000);
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x16), 2000);
            t4[0x18] = 0x41;
            t4[0x19] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x1A), 0xFFFF);
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x1C), 0xFFFF);
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x1E), 0xFFFF);
            t4[0x23] = 1;
            t4[0x24] = 1;
            t4[0x25] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x26), 0x0002);
            BinaryPrimitives.WriteUInt16LittleEndian(t4.AsSpan(0x28), 0x0001);
            Add(t4, $"CPU {i}", Manufacturer, MachineVersion);
        }

        // Type 16, the physical memory array: system memory, "multi-bit ECC" (QEMU's choice), its capacity in KiB.
        int dimms = (int)((ramBytes + DimmBytes - 1) / DimmBytes);
        ulong capacityKib = ramBytes / 1024;
        byte[] t16 = Header(16, 0x17, 0x1000);
        t16[4] = 1;
        t16[5] = 3;
        t16[6] = 6;
        if (capacityKib < 0x8000_0000)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(t16.AsSpan(7), (uint)capacityKib);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(t16.AsSpan(7), 0x8000_0000);
            BinaryPrimitives.WriteUInt64LittleEndian(t16.AsSpan(0x0F), ramBytes);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(t16.AsSpan(0x0B), 0xFFFE);
        BinaryPrimitives.WriteUInt16LittleEndian(t16.AsSpan(0x0D), (ushort)dimms);
        Add(t16);

        // Type 17 per 16 GiB: a DIMM of RAM ("other" detail bit), its size in MiB.
        for (int i = 0; i < dimms; i++)
        {
            ulong bytes = Math.Min(DimmBytes, ramBytes - ((ulong)i * DimmBytes));
            ulong mib = (bytes + MiB - 1) / MiB;
            byte[] t17 = Header(17, 0x28, (ushort)(0x1100 + i));
            BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(4), 0x1000);
            BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(6), 0xFFFE);
            BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(8), 0xFFFF);
            BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(0x0A), 0xFFFF);
            if (mib < 0x7FFF)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(0x0C), (ushort)mib);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(0x0C), 0x7FFF);
                BinaryPrimitives.WriteUInt32LittleEndian(t17.AsSpan(0x1C), (uint)mib);
            }

            t17[0x0E] = 9;
            t17[0x10] = 1;
            t17[0x12] = 7;
            BinaryPrimitives.WriteUInt16LittleEndian(t17.AsSpan(0x13), 0x0002);
            t17[0x17] = 2;
            Add(t17, $"DIMM {i}", Manufacturer);
        }

        // Type 19, the array's mapped addresses: RAM from 0, in KiB (or bytes when it does not fit).
        byte[] t19 = Header(19, 0x1F, 0x1300);
        ulong endKib = (ramBytes / 1024) - 1;
        if (endKib < 0xFFFF_FFFF)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(t19.AsSpan(8), (uint)endKib);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(t19.AsSpan(4), 0xFFFF_FFFF);
            BinaryPrimitives.WriteUInt32LittleEndian(t19.AsSpan(8), 0xFFFF_FFFF);
            BinaryPrimitives.WriteUInt64LittleEndian(t19.AsSpan(0x17), ramBytes - 1);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(t19.AsSpan(0x0C), 0x1000);
        t19[0x0E] = 1;
        Add(t19);

        // Type 32, boot information: no errors. Type 127: the end.
        Add(Header(32, 0x0B, 0x2000));
        Add(Header(127, 0x04, 0x7F00));

        // The 2.8 entry point ("_SM_", 31 bytes); the firmware sets the address and the checksums.
        var anchor = new byte[0x1F];
        Encoding.ASCII.GetBytes("_SM_", anchor);
        anchor[5] = 0x1F;
        anchor[6] = 2;
        anchor[7] = 8;
        BinaryPrimitives.WriteUInt16LittleEndian(anchor.AsSpan(8), (ushort)largest);
        Encoding.ASCII.GetBytes("_DMI_", anchor.AsSpan(0x10));
        BinaryPrimitives.WriteUInt16LittleEndian(anchor.AsSpan(0x16), (ushort)tables.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(anchor.AsSpan(0x1C), (ushort)count);
        anchor[0x1E] = 0x28;
        return ([.. tables], anchor);
    }

    private static byte[] Header(byte type, byte length, ushort handle)
    {
        var s = new byte[length];
        s[0] = type;
        s[1] = length;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(2), handle);
        return s;
    }
}
